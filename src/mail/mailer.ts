import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Transporter } from 'nodemailer';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';

/** One mail: plain text and HTML of the same words, to one address. */
export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
}

/** Hands a mail to the transport; resolves once it accepted it. */
export type SendMail = (message: MailMessage) => Promise<void>;

/**
 * Mail over SMTP_URL, or with none set, each message written as an .eml file under MAIL_DIR: a
 * person running the service on one machine opens the file to follow its link, and the log says
 * only where the file is, so no live token reaches a log.
 */
export function createSendMail(config: Config, logger: Logger): SendMail {
  const from = config.mailFrom;
  const { smtpUrl } = config;
  // Loaded with the first mail, not at start-up: a Lambda cold start does not parse it.
  let transport: Promise<Transporter> | undefined;
  const load = () =>
    (transport ??= import('nodemailer').then(({ default: nodemailer }) =>
      smtpUrl === undefined
        ? nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' })
        : nodemailer.createTransport(smtpUrl),
    ));
  if (smtpUrl !== undefined) {
    return async (message) => {
      await (await load()).sendMail({ from, ...message });
    };
  }
  const dir = resolve(config.mailDir);
  return async (message) => {
    const { message: raw } = (await (await load()).sendMail({ from, ...message })) as { message: Buffer };
    await mkdir(dir, { recursive: true });
    const file = join(dir, `${new Date().toISOString().replaceAll(':', '-')}-${randomUUID().slice(0, 8)}.eml`);
    await writeFile(file, raw, { mode: 0o600 });
    logger.info({ file, subject: message.subject }, 'mail written to a file (no SMTP_URL)');
  };
}

/** What to mail once the request that asked for it has succeeded; undefined: nothing after all. */
export type MailJob = () => Promise<MailMessage | undefined>;

/** Waits before each retry of a failed send: three more tries within about half a minute. */
const RETRY_DELAYS_MS = [1_000, 5_000, 20_000];

export interface OutboxOptions {
  retryDelaysMs?: readonly number[];
  /** Called once per mail given up on, for the `mail_failures_total` metric. */
  onFailure?: () => void;
}

/**
 * Sends mail after the response, never inside a request's transaction: a mail server that is slow
 * or down neither holds a connection nor undoes the write that asked for the mail. A send that
 * fails is retried after each of `retryDelaysMs`; then it is logged as an error (who and what,
 * never the link) and counted, and the user can ask for the mail again.
 */
export class Outbox {
  readonly #send: SendMail;
  readonly #logger: Logger;
  readonly #delays: readonly number[];
  readonly #onFailure: () => void;
  readonly #pending = new Set<Promise<void>>();

  constructor(send: SendMail, logger: Logger, options: OutboxOptions = {}) {
    this.#send = send;
    this.#logger = logger;
    this.#delays = options.retryDelaysMs ?? RETRY_DELAYS_MS;
    this.#onFailure = options.onFailure ?? (() => undefined);
  }

  /** Runs the jobs and sends what they return, in the background. */
  dispatch(jobs: readonly MailJob[]): void {
    for (const job of jobs) {
      const run = this.#run(job).finally(() => this.#pending.delete(run));
      this.#pending.add(run);
    }
  }

  /** Resolves when every mail dispatched so far was sent or given up on (a Lambda's invocation end, a shutdown). */
  async drain(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending);
  }

  async #run(job: MailJob): Promise<void> {
    let message: MailMessage | undefined;
    try {
      message = await job();
    } catch (err) {
      this.#logger.error({ err }, 'a mail could not be prepared');
      this.#onFailure();
      return;
    }
    if (message === undefined) return;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#send(message);
        return;
      } catch (err) {
        const delay = this.#delays[attempt];
        if (delay === undefined) {
          this.#logger.error({ err, to: message.to, subject: message.subject, attempts: attempt + 1 }, 'a mail could not be sent');
          this.#onFailure();
          return;
        }
        this.#logger.warn({ err, to: message.to, attempt: attempt + 1 }, 'a mail send failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }
}
