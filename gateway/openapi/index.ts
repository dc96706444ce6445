/** The push API's OpenAPI 3.1 document, generated from the schemas the code validates with. */
export { ingestOpenApiDocument, OPENAPI_PATH } from './document.js';
export { feedAcceptedSchema, feedPreviewSchema, feedReportSchema, problemSchema } from './schemas.js';
