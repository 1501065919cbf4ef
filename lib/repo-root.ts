import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The checkout's root directory (where package.json, contracts/ and node_modules/ are), from this
// file's location. A neutral module: the production server, the SDK and the dev chain all need it,
// and none of them should import the others for it.

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
