/**
 * The parts of the `openai` SDK the chat model uses, imported statically so that esbuild takes the SDK's ES module
 * build; openai-chat.ts requires this module on the first question only (esbuild evaluates a bundled module when it
 * is first required), so a cold start that asks nothing does not load the SDK.
 */
export { APIConnectionError, APIConnectionTimeoutError, APIError, OpenAI } from 'openai';
