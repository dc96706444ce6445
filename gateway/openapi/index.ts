/** The push API's OpenAPI 3.1 document, generated from the schemas the code validates with. */
export { ingestOpenApiDocument, OPENAPI_FILE, OPENAPI_PATH, openApiText } from './document.js';
export { feedAcceptedSchema, feedPreviewSchema, feedReportSchema, problemSchema } from './schemas.js';
