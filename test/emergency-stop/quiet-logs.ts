// Imported first by tests that load the handler: its logger reads the level when the module loads.
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
