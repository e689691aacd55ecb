/**
 * The AI function's settings (R-AI-1, R-AI-5, OWASP LLM10 unbounded consumption): which OpenAI-compatible endpoint
 * and model, what a token costs, and the bounds of every conversation turn. CDK validates them from the deployment
 * config (lib/config.ts `ai`) and hands them over as AI_SETTINGS; locally the same schema reads the defaults.
 */
import * as z from '../zod';

const integer = (min: number, max: number) => z.int().check(z.minimum(min), z.maximum(max));
const price = z.number().check(z.minimum(0), z.maximum(1000));

/** US dollars per million tokens. Cached input is a subset of input, reasoning a subset of output. */
export const priceSchema = z.strictObject({
  inputPerMTok: price,
  cachedInputPerMTok: price,
  outputPerMTok: price,
});
export type ModelPrice = z.infer<typeof priceSchema>;

export const aiSettingsSchema = z.strictObject({
  /** The OpenAI-compatible endpoint (`https://api.openai.com/v1`, an Azure OpenAI `/openai/v1` URL, a self-hosted server). Absent: ai_not_configured. */
  baseUrl: z.optional(z.string().check(z.regex(/^https?:\/\/[^\s]+$/, 'baseUrl: an http(s) URL'))),
  model: z.string().check(z.minLength(1), z.maxLength(200)),
  /** Price per model name; a model missing here is priced at `defaultPrice`. */
  prices: z.record(z.string(), priceSchema),
  defaultPrice: priceSchema,
  /** Tokens (input + output) per tenant and calendar month (UTC), by plan. Checked before every provider call. */
  monthlyTokenBudget: z.strictObject({ starter: integer(0, 1e10), business: integer(0, 1e10), enterprise: integer(0, 1e10) }),
  /** Questions per tenant and minute. */
  requestsPerMinute: integer(1, 10_000),
  /** Tool calls the model may make in one turn; then it must answer. */
  maxToolCallsPerTurn: integer(1, 20),
  /** Timeout of one provider call (each attempt; the SDK retries once). */
  providerTimeoutMs: integer(1000, 120_000),
  /**
   * The whole turn, within the function's 29 s (API Gateway's limit): each provider call gets at most half of what
   * is left (two attempts fit), and none starts with less than a second left.
   */
  turnTimeoutMs: integer(2000, 28_000),
  /** Most output tokens of one provider call. */
  maxOutputTokens: integer(64, 32_000),
  /** Earlier turns replayed to the provider (the API keeps no state: store is false). */
  historyTurns: integer(0, 50),
});
export type AiSettings = z.infer<typeof aiSettingsSchema>;

export const DEFAULT_AI_SETTINGS: AiSettings = {
  model: 'gpt-4.1-mini',
  prices: {
    'gpt-4.1-mini': { inputPerMTok: 0.4, cachedInputPerMTok: 0.1, outputPerMTok: 1.6 },
    'gpt-4.1': { inputPerMTok: 2, cachedInputPerMTok: 0.5, outputPerMTok: 8 },
  },
  defaultPrice: { inputPerMTok: 2, cachedInputPerMTok: 0.5, outputPerMTok: 8 },
  monthlyTokenBudget: { starter: 200_000, business: 2_000_000, enterprise: 20_000_000 },
  requestsPerMinute: 10,
  maxToolCallsPerTurn: 6,
  providerTimeoutMs: 20_000,
  turnTimeoutMs: 25_000,
  maxOutputTokens: 1500,
  historyTurns: 6,
};

/** Token counts of one or more provider calls. `cachedInput` is part of `input`, `reasoning` part of `output`. */
export interface TokenUsage {
  readonly input: number;
  readonly cachedInput: number;
  readonly output: number;
  readonly reasoning: number;
}

export const NO_USAGE: TokenUsage = { input: 0, cachedInput: 0, output: 0, reasoning: 0 };

export const addUsage = (a: TokenUsage, b: TokenUsage): TokenUsage => ({
  input: a.input + b.input,
  cachedInput: a.cachedInput + b.cachedInput,
  output: a.output + b.output,
  reasoning: a.reasoning + b.reasoning,
});

/** Tokens a budget counts: each token once (cached and reasoning tokens are already in input and output). */
export const billableTokens = (u: TokenUsage): number => u.input + u.output;

/**
 * R-AI-5: cost in US dollars from the price table. Cached tokens are charged at the cached rate instead of the input
 * rate (never both); reasoning tokens are output tokens, charged once as such.
 */
export function costUsd(settings: Pick<AiSettings, 'prices' | 'defaultPrice'>, model: string, u: TokenUsage): number {
  const p = settings.prices[model] ?? settings.defaultPrice;
  const cached = Math.min(u.cachedInput, u.input);
  const usd = ((u.input - cached) * p.inputPerMTok + cached * p.cachedInputPerMTok + u.output * p.outputPerMTok) / 1e6;
  return Math.round(usd * 1e8) / 1e8;
}
