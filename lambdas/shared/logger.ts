/**
 * The functions' structured logger (Powertools). R-SEC-7: log lines carry ids, counts and error codes only;
 * never payloads, identifiers of data subjects, IP addresses or user agents. Nothing here logs a request.
 */
import { Logger } from '@aws-lambda-powertools/logger';

export const logger = new Logger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'lumiqo',
  logLevel: (process.env.LUMIQO_LOG_LEVEL as 'INFO' | 'WARN' | 'ERROR' | 'DEBUG' | 'SILENT' | undefined) ?? 'INFO',
});
