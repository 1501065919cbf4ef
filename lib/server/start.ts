// `npm start`: the server on its own, against whatever chain RPC_URL points at (production, or a chain
// you run yourself). Serves the production Next build (`npm run build`) unless NEXT_DEV=1;
// SERVE_PAGES=0 runs only the plain API (blob gateway + consumer API).
import { getEnv, EnvError } from '../env.ts';
import { startServer } from './main.ts';

let env;
try {
  env = getEnv();
} catch (err) {
  if (err instanceof EnvError) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}
const server = await startServer({ env, dev: process.env.NEXT_DEV === '1', withNext: process.env.SERVE_PAGES !== '0' });
const stop = async () => {
  await server.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
