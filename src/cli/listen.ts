import { UsageError } from './options';

export interface Listener {
  /** What is listening, for the message: `the embedded FHIR server`, `the API`. */
  what: string;
  host: string;
  port: number;
  /** The flag or configuration key that changes the port, e.g. `--port, or embedded.port (HFU_EMBEDDED__PORT)`. */
  change: string;
}

/**
 * Starts a server; a port already in use becomes a usage error (exit 2) that names the port and how to choose
 * another, instead of the bare system error.
 */
export async function listenOrExplain<T>(start: () => Promise<T>, listener: Listener): Promise<T> {
  try {
    return await start();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') {
      throw err;
    }
    throw new UsageError(
      `${listener.what} cannot listen on ${listener.host}:${listener.port}: the port is already in use (another ` +
        `hfu, or another program). Stop what holds it, or choose another port with ${listener.change} (0: any free port)`
    );
  }
}
