import pg from 'pg';

/** One PostgreSQL connection for a test to act as another client (an admin, a competing writer). */
export async function connectClient(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  // A test may kill this connection's backend on purpose; that must not end the test process.
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** Runs one statement on a connection of its own. */
export async function runStatement(url: string, text: string): Promise<void> {
  const client = await connectClient(url);
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}
