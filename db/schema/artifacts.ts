// Artifact store tables (blob, manifest, blob_ref) — owned by the weights engineer (issue 4).
export {};
