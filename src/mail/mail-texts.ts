import type { Locale } from '../errors/messages.ts';
import type { MailMessage } from './mailer.ts';

/** What a mail is for; each carries one link into the page, with its token. */
export type MailKind = 'verify' | 'reset';

interface MailText {
  subject: string;
  /** Lines before the link. */
  intro: string;
  action: string;
  /** After the link: how long it works, and what to do if the reader did not ask. */
  outro: string;
}

const TEXTS: Record<MailKind, Record<Locale, (hours: number) => MailText>> = {
  verify: {
    ko: (hours) => ({
      subject: '이메일 주소를 확인해 주세요',
      intro: '이 주소를 계정에 쓰려면 아래 링크를 여세요.',
      action: '이메일 확인',
      outro: `링크는 ${hours}시간 동안 한 번만 쓸 수 있습니다. 요청한 적이 없다면 이 메일을 무시하세요.`,
    }),
    en: (hours) => ({
      subject: 'Confirm your email address',
      intro: 'Open the link below to use this address for your account.',
      action: 'Confirm email',
      outro: `The link works once, for ${hours} hours. If you did not ask for this, ignore this mail.`,
    }),
  },
  reset: {
    ko: (hours) => ({
      subject: '비밀번호 재설정',
      intro: '아래 링크에서 새 비밀번호를 정하세요. 정하면 모든 기기에서 로그아웃됩니다.',
      action: '비밀번호 재설정',
      outro: `링크는 ${hours}시간 동안 한 번만 쓸 수 있습니다. 요청한 적이 없다면 이 메일을 무시하세요. 비밀번호는 바뀌지 않습니다.`,
    }),
    en: (hours) => ({
      subject: 'Reset your password',
      intro: 'Choose a new password at the link below. Doing so logs you out everywhere.',
      action: 'Reset password',
      outro: `The link works once, for ${hours} hours. If you did not ask for this, ignore this mail: your password stays as it is.`,
    }),
  },
};

/** The page's route each kind of link opens. */
const ROUTES: Record<MailKind, string> = { verify: 'verify-email', reset: 'reset-password' };

function escapeHtml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

/** The mail of `kind` to `to`, in `locale`, whose one link carries `token` to the page at `publicUrl`. */
export function accountMail(
  kind: MailKind,
  options: { to: string; locale: Locale; publicUrl: string; token: string; hours: number },
): MailMessage {
  const t = TEXTS[kind][options.locale](options.hours);
  const link = `${options.publicUrl}/#/${ROUTES[kind]}?token=${encodeURIComponent(options.token)}`;
  return {
    to: options.to,
    subject: t.subject,
    text: `${t.intro}\n\n${link}\n\n${t.outro}\n`,
    html:
      `<!doctype html><html lang="${options.locale}"><body>` +
      `<p>${escapeHtml(t.intro)}</p>` +
      `<p><a href="${escapeHtml(link)}">${escapeHtml(t.action)}</a></p>` +
      `<p>${escapeHtml(t.outro)}</p></body></html>`,
  };
}
