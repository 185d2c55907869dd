export {
  bearerAuth,
  CachedTokenAuth,
  clientCredentialsAuth,
  createAuthProvider,
  noAuth,
  TOKEN_REFRESH_MARGIN_MS,
} from './auth';
export type { AuthProvider, TokenFetcher, TokenResponse } from './auth';
export { FhirClient, toQuery } from './client';
export type { FhirClientDeps, SearchParams, WriteResult } from './client';
export { FhirError, isOperationOutcome, isVersionConflict, outcomeCodes } from './errors';
export type { FhirErrorKind } from './errors';
export { HttpTransport } from './http';
export type { HttpMethod, HttpRequest, HttpResponse, TransportObserver } from './http';
export { Limiter } from './limiter';
export type { RetryPolicy } from './retry';
export { bulkExport, releaseExport } from './bulk';
export { patientIdOf, patientIdOfReference, SourceReferences } from './references';
export type { BulkExportRequest, BulkManifest } from './bulk';
