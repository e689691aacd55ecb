/** Imported first by run.ts, so these hold before any SDK or Powertools module loads. */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
// The handlers' logger (lambdas/shared/logger.ts): one line per processed batch would drown the table.
process.env.LUMIQO_LOG_LEVEL ??= 'ERROR';
