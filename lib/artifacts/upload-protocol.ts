// Figures of the upload protocol that the browser (app/proposals/new/uploads.ts), the SDK
// (lib/sdk/upload.ts) and the server agree on. Plain constants: safe to import in a client bundle.

/** Files at least this large go up through a resumable session (POST/PATCH /api/uploads/sessions, lib/server/routes/sessions.ts), in parts. */
export const RESUMABLE_FROM_BYTES = 64 * 1024 * 1024;
