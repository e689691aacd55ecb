process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.POWERTOOLS_DEV = process.env.POWERTOOLS_DEV ?? 'false';
// Handlers log every batch and task at INFO; the tests read outcomes, not logs (test/handler/logs.test.ts checks them).
process.env.LUMIQO_LOG_LEVEL = process.env.LUMIQO_LOG_LEVEL ?? 'WARN';
