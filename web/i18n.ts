import type { ApiError } from './api.ts';

export type Lang = 'ko' | 'en';

const ko = {
  appName: 'Plotline',
  otherLanguage: 'English',
  otherLanguageLabel: 'Switch to English',
  nav: '주 메뉴',
  // The page's look: brand, theme switch, password field, project rows and search.
  darkMode: '어두운 화면',
  showPassword: '비밀번호 표시',
  strength: '강도: {level}',
  strengthWeak: '약함',
  strengthFair: '보통',
  strengthStrong: '강함',
  strengthSameAsName: '아이디나 이메일과 비슷합니다.',
  strengthAdvice: '길게, 그리고 대문자·숫자·기호를 섞으면 강해집니다.',
  changedAt: '마지막 수정: {when}',
  deletedAt: '삭제: {when}',
  noDescription: '설명 없음',
  searchTitle: '제목으로 찾기',
  searchNone: '제목이 맞는 프로젝트가 없습니다.',
  signup: '회원가입',
  login: '로그인',
  logout: '로그아웃',
  projects: '프로젝트',
  account: '계정',
  signedInAs: '{name}님으로 로그인됨',
  loading: '불러오는 중…',
  details: '자세히',
  requestId: '요청 ID',
  username: '아이디',
  email: '이메일',
  nickname: '닉네임',
  password: '비밀번호',
  loginField: '아이디 또는 이메일',
  usernameRules: '3–30자, 영문 소문자·숫자·. _ - 만 쓸 수 있고 영문이나 숫자로 시작하고 끝나야 합니다. 대문자는 소문자로 바뀝니다.',
  passwordRules: '8자 이상 128자 이하, 어떤 문자든 쓸 수 있습니다.',
  passwordLength: '현재 {n}자',
  checking: '확인 중…',
  available: '사용할 수 있습니다.',
  liveStopped: '확인 요청이 너무 많아 실시간 확인을 잠시 멈췄습니다. 가입하면 서버가 결정합니다.',
  suggestions: '사용할 수 있는 아이디',
  useSuggestion: '{name} 사용',
  createAccount: '가입하기',
  creatingAccount: '가입하는 중…',
  haveAccount: '이미 계정이 있나요? 로그인',
  noAccount: '계정이 없나요? 회원가입',
  loggingIn: '로그인하는 중…',
  show: '보기',
  live: '사용 중',
  deleted: '삭제됨',
  all: '전체',
  newProject: '새 프로젝트',
  title: '제목',
  description: '설명',
  create: '만들기',
  creating: '만드는 중…',
  openExisting: '같은 제목의 기존 프로젝트 열기',
  loadMore: '더 보기',
  empty: '프로젝트가 없습니다.',
  restore: '복원',
  restoring: '복원하는 중…',
  restoreHeld: '지금 이 제목은 사용 중인 다른 프로젝트가 쓰고 있습니다. 그 프로젝트의 이름을 바꾼 뒤 다시 복원하세요.',
  renameLive: '사용 중인 프로젝트 열어 이름 바꾸기',
  backToList: '← 프로젝트 목록',
  editProject: '프로젝트 수정',
  save: '저장',
  saving: '저장하는 중…',
  saved: '저장했습니다.',
  staleTitle: '다른 곳에서 이 프로젝트를 먼저 수정했으니, 그쪽 내용을 불러오거나 내 내용으로 덮어쓰세요.',
  reload: '최신 내용 불러오기',
  overwrite: '내 내용으로 덮어쓰기',
  delete: '삭제',
  deletedNotice: '프로젝트를 삭제했습니다.',
  undo: '실행 취소',
  deletedState: '이 프로젝트는 삭제된 상태입니다.',
  profile: '프로필',
  saveProfile: '변경 저장',
  nothingToSave: '바뀐 값이 없습니다.',
  changePassword: '비밀번호 변경',
  currentPassword: '현재 비밀번호',
  newPassword: '새 비밀번호',
  passwordChanged: '비밀번호를 변경했습니다.',
  deleteAccount: '계정 삭제',
  confirmDelete: '계정을 삭제하면 모든 프로젝트도 함께 삭제되며 되돌릴 수 없습니다. 삭제할까요?',
  confirmDeleteButton: '영구 삭제',
  cancel: '취소',
  // Mailed links: verification and password reset.
  verifyTitle: '이메일 확인',
  verifying: '확인하는 중…',
  verified: '{email} 주소를 확인했습니다.',
  badVerifyLink:
    '이 확인 링크는 쓸 수 없습니다. 만료되었거나, 이미 쓰였거나, 그 뒤에 이메일을 바꿨습니다. 로그인해서 확인 메일을 다시 받으세요.',
  continue: '계속하기',
  checkEmail: '메일을 확인하세요.',
  checkEmailSignup: '{email}(으)로 보낸 링크를 열면 이메일 주소가 확인됩니다.',
  checkEmailPending: '{email}(으)로 보낸 링크를 열면 이 주소로 바뀝니다.',
  resend: '확인 메일 다시 보내기',
  resent: '{email}(으)로 다시 보냈습니다.',
  forgotPassword: '비밀번호를 잊으셨나요?',
  forgotTitle: '비밀번호 재설정',
  sendResetLink: '재설정 링크 받기',
  resetSent: '그런 계정이 있으면 계정의 이메일로 재설정 링크를 보냈습니다. 메일을 확인하세요.',
  backToLogin: '로그인으로 돌아가기',
  resetTitle: '새 비밀번호 정하기',
  setPassword: '비밀번호 정하기',
  resetDone: '비밀번호를 바꿨습니다. 모든 기기에서 로그아웃되었습니다.',
  badResetLink: '이 재설정 링크는 쓸 수 없습니다. 만료되었거나 이미 쓰였습니다.',
};

export type Messages = typeof ko;

const en: Messages = {
  appName: 'Plotline',
  otherLanguage: '한국어',
  otherLanguageLabel: '한국어 보기',
  nav: 'Main',
  // The page's look: brand, theme switch, password field, project rows and search.
  darkMode: 'Dark mode',
  showPassword: 'Show password',
  strength: 'Strength: {level}',
  strengthWeak: 'weak',
  strengthFair: 'fair',
  strengthStrong: 'strong',
  strengthSameAsName: 'Too close to your username or email.',
  strengthAdvice: 'Longer, with capitals, digits and symbols mixed in, is stronger.',
  changedAt: 'Changed {when}',
  deletedAt: 'Deleted {when}',
  noDescription: 'No description',
  searchTitle: 'Search by title',
  searchNone: 'No project title matches.',
  signup: 'Sign up',
  login: 'Log in',
  logout: 'Log out',
  projects: 'Projects',
  account: 'Account',
  signedInAs: 'Signed in as {name}',
  loading: 'Loading…',
  details: 'Details',
  requestId: 'Request ID',
  username: 'Username',
  email: 'Email',
  nickname: 'Nickname',
  password: 'Password',
  loginField: 'Username or email',
  usernameRules: '3–30 characters: a–z, 0–9, . _ -, starting and ending with a letter or digit. Capitals become lower case.',
  passwordRules: '8 to 128 characters, any characters.',
  passwordLength: '{n} so far',
  checking: 'Checking…',
  available: 'Available.',
  liveStopped: 'Too many checks: live checking is paused. Submitting will decide.',
  suggestions: 'Free usernames',
  useSuggestion: 'Use {name}',
  createAccount: 'Sign up',
  creatingAccount: 'Signing up…',
  haveAccount: 'Have an account? Log in',
  noAccount: 'No account yet? Sign up',
  loggingIn: 'Logging in…',
  show: 'Show',
  live: 'Live',
  deleted: 'Deleted',
  all: 'All',
  newProject: 'New project',
  title: 'Title',
  description: 'Description',
  create: 'Create',
  creating: 'Creating…',
  openExisting: 'Open the existing project with this title',
  loadMore: 'Load more',
  empty: 'No projects.',
  restore: 'Restore',
  restoring: 'Restoring…',
  restoreHeld: 'A live project now holds this title. Rename that one, then restore this again.',
  renameLive: 'Open the live project to rename it',
  backToList: '← All projects',
  editProject: 'Edit project',
  save: 'Save',
  saving: 'Saving…',
  saved: 'Saved.',
  staleTitle: 'Someone else changed this project first: reload their version, or overwrite it with yours.',
  reload: 'Reload their version',
  overwrite: 'Overwrite with mine',
  delete: 'Delete',
  deletedNotice: 'Project deleted.',
  undo: 'Undo',
  deletedState: 'This project is deleted.',
  profile: 'Profile',
  saveProfile: 'Save changes',
  nothingToSave: 'Nothing changed.',
  changePassword: 'Change password',
  currentPassword: 'Current password',
  newPassword: 'New password',
  passwordChanged: 'Password changed.',
  deleteAccount: 'Delete account',
  confirmDelete: 'Deleting your account deletes all your projects too, and cannot be undone. Delete it?',
  confirmDeleteButton: 'Delete for good',
  cancel: 'Cancel',
  // Mailed links: verification and password reset.
  verifyTitle: 'Confirm your email',
  verifying: 'Confirming…',
  verified: '{email} is confirmed.',
  badVerifyLink:
    'This confirmation link cannot be used: it has expired, was used already, or the email was changed since. Log in to get a new one.',
  continue: 'Continue',
  checkEmail: 'Check your email.',
  checkEmailSignup: 'Open the link we sent to {email} to confirm your address.',
  checkEmailPending: 'Open the link we sent to {email} to switch to that address.',
  resend: 'Send the link again',
  resent: 'Sent again to {email}.',
  forgotPassword: 'Forgot your password?',
  forgotTitle: 'Reset your password',
  sendResetLink: 'Send me a reset link',
  resetSent: 'If that account exists, a reset link is on its way to its email. Check your inbox.',
  backToLogin: 'Back to log in',
  resetTitle: 'Choose a new password',
  setPassword: 'Set password',
  resetDone: 'Your password is changed, and you are logged out everywhere.',
  badResetLink: 'This reset link cannot be used: it has expired or was used already.',
};

export const MESSAGES: Record<Lang, Messages> = { ko, en };

/** Korean unless the browser prefers English over Korean. */
export function preferredLang(languages: readonly string[]): Lang {
  for (const tag of languages) {
    const primary = tag.toLowerCase().split('-')[0];
    if (primary === 'ko' || primary === 'en') return primary;
  }
  return 'ko';
}

export function fill(text: string, params: Record<string, string | number>): string {
  return text.replace(/\{(\w+)\}/g, (whole, key: string) => (key in params ? String(params[key]) : whole));
}

/**
 * The page's own words for the failures it knows: by error `code`, by `field` + field-issue code,
 * naming fields as the labels call them. The API's `message` is shown only for codes not listed here.
 */
export interface ErrorTexts {
  /** Field names inside sentences, as the form labels call them. */
  fields: Record<string, string>;
  /** Top-level codes; `CODE.field` entries are more specific than `CODE`. */
  codes: Record<string, string>;
  /** Field issues (`errors[].code`); `field.code` entries are more specific than `code`. */
  issues: Record<string, string>;
  sessionEnded: string;
}

/** Field lengths the API enforces, for the texts that name them (docs/spec.md). */
export const FIELD_LIMITS: Record<string, { min: number; max: number }> = {
  username: { min: 3, max: 30 },
  email: { min: 3, max: 254 },
  nickname: { min: 1, max: 30 },
  password: { min: 8, max: 128 },
  currentPassword: { min: 1, max: 128 },
  title: { min: 1, max: 100 },
  description: { min: 0, max: 2000 },
};

const koErrors: ErrorTexts = {
  fields: {
    username: '아이디',
    email: '이메일',
    nickname: '닉네임',
    password: '비밀번호',
    currentPassword: '현재 비밀번호',
    login: '아이디 또는 이메일',
    title: '제목',
    description: '설명',
  },
  codes: {
    NETWORK: '서버에 연결할 수 없습니다. 네트워크를 확인하세요.',
    INVALID_JSON: '요청을 보내지 못했습니다. 페이지를 새로 고친 뒤 다시 시도하세요.',
    VALIDATION_FAILED: '입력한 값을 확인하세요.',
    UNAUTHENTICATED: '로그인이 필요합니다.',
    INVALID_CREDENTIALS: '아이디(또는 이메일)나 비밀번호가 맞지 않습니다.',
    FORBIDDEN: '이 작업을 할 권한이 없습니다.',
    NOT_FOUND_RESOURCE: '찾는 항목이 없습니다. 이미 삭제되었을 수 있습니다.',
    METHOD_NOT_ALLOWED: '이 페이지가 보낼 수 없는 요청입니다. 페이지를 새로 고치세요.',
    DUPLICATE_RESOURCE: '이미 쓰이고 있는 값입니다.',
    'DUPLICATE_RESOURCE.title': '이 제목은 이미 다른 프로젝트가 쓰고 있습니다.',
    'DUPLICATE_RESOURCE.username': '이미 쓰이고 있는 아이디입니다.',
    'DUPLICATE_RESOURCE.email': '이미 다른 계정에 등록된 이메일입니다.',
    USERNAME_HELD: '최근까지 쓰이던 아이디라 아직 쓸 수 없습니다.',
    'USERNAME_HELD.username': '최근까지 쓰이던 아이디라 아직 쓸 수 없습니다.',
    RESOURCE_STATE_CONFLICT: '지금 상태에서는 할 수 없는 작업입니다. 페이지를 새로 고쳐 보세요.',
    IDEMPOTENCY_KEY_IN_USE: '같은 요청을 아직 처리하고 있습니다. 잠시 후 다시 시도하세요.',
    PRECONDITION_FAILED: '다른 곳에서 먼저 바뀌었습니다. 새로 고친 뒤 다시 시도하세요.',
    PAYLOAD_TOO_LARGE: '입력한 내용이 너무 깁니다.',
    UNSUPPORTED_MEDIA_TYPE: '이 페이지가 보낼 수 없는 요청입니다. 페이지를 새로 고치세요.',
    IDEMPOTENCY_KEY_MISMATCH: '같은 요청 번호로 다른 요청이 이미 처리되었습니다. 페이지를 새로 고치세요.',
    RATE_LIMITED: '요청이 너무 많습니다. 잠시 후 다시 시도하세요.',
    INTERNAL_ERROR: '서버에서 문제가 생겼습니다. 잠시 후 다시 시도하세요.',
    SERVICE_UNAVAILABLE: '지금은 서비스를 쓸 수 없습니다. 잠시 후 다시 시도하세요.',
  },
  issues: {
    required: '{field:을/를} 입력하세요.',
    type: '{field:이/가} 올바르지 않습니다.',
    too_short: '{field:은/는} {min}자 이상이어야 합니다.',
    too_long: '{field:은/는} {max}자까지 쓸 수 있습니다.',
    'nickname.too_short': '닉네임을 입력하세요.',
    'title.too_short': '제목을 입력하세요.',
    format: '{field} 형식이 올바르지 않습니다.',
    'username.format': '아이디는 영문 소문자·숫자·. _ - 만 쓸 수 있고 영문이나 숫자로 시작하고 끝나야 합니다.',
    'email.format': '이메일 주소 형식이 올바르지 않습니다.',
    invalid_characters: '{field}에 쓸 수 없는 문자가 있습니다.',
    out_of_range: '{field:이/가} 허용 범위를 벗어났습니다.',
    invalid_value: '{field:이/가} 올바르지 않습니다.',
    duplicate: '이미 쓰이고 있는 {field}입니다.',
    'username.duplicate': '이미 쓰이고 있는 아이디입니다.',
    'email.duplicate': '이미 다른 계정에 등록된 이메일입니다.',
    held: '최근까지 쓰이던 아이디라 아직 쓸 수 없습니다.',
    invalid_token: '이 링크는 쓸 수 없습니다. 만료되었거나 이미 쓰였습니다.',
    reserved: '이 {field:은/는} 예약되어 있어 쓸 수 없습니다.',
    incorrect: '{field:이/가} 맞지 않습니다.',
    one_of: '아이디나 이메일 중 하나만 입력하세요.',
    empty_patch: '바뀐 값이 없습니다.',
  },
  sessionEnded: '로그인이 끝났습니다. 다시 로그인하면 하던 곳으로 돌아갑니다.',
};

const enErrors: ErrorTexts = {
  fields: {
    username: 'Username',
    email: 'Email',
    nickname: 'Nickname',
    password: 'Password',
    currentPassword: 'Current password',
    login: 'Username or email',
    title: 'Title',
    description: 'Description',
  },
  codes: {
    NETWORK: 'Cannot reach the server. Check the network.',
    INVALID_JSON: 'The request could not be sent. Reload the page and try again.',
    VALIDATION_FAILED: 'Check the values you entered.',
    UNAUTHENTICATED: 'You need to log in.',
    INVALID_CREDENTIALS: 'The username (or email) or the password is wrong.',
    FORBIDDEN: 'You are not allowed to do this.',
    NOT_FOUND_RESOURCE: 'Not found. It may have been deleted.',
    METHOD_NOT_ALLOWED: 'The page sent a request it should not have. Reload the page.',
    DUPLICATE_RESOURCE: 'This value is already in use.',
    'DUPLICATE_RESOURCE.title': 'Another project already has this title.',
    'DUPLICATE_RESOURCE.username': 'This username is taken.',
    'DUPLICATE_RESOURCE.email': 'This email belongs to another account.',
    USERNAME_HELD: "This username was in use recently and can't be taken yet.",
    'USERNAME_HELD.username': "This username was in use recently and can't be taken yet.",
    RESOURCE_STATE_CONFLICT: 'This cannot be done in the current state. Try reloading the page.',
    IDEMPOTENCY_KEY_IN_USE: 'The same request is still being processed. Try again shortly.',
    PRECONDITION_FAILED: 'It was changed somewhere else first. Reload and try again.',
    PAYLOAD_TOO_LARGE: 'What you entered is too long.',
    UNSUPPORTED_MEDIA_TYPE: 'The page sent a request it should not have. Reload the page.',
    IDEMPOTENCY_KEY_MISMATCH: 'A different request was already made under the same request key. Reload the page.',
    RATE_LIMITED: 'Too many requests. Try again shortly.',
    INTERNAL_ERROR: 'Something went wrong on the server. Try again shortly.',
    SERVICE_UNAVAILABLE: 'The service is unavailable right now. Try again shortly.',
  },
  issues: {
    required: '{field} is required.',
    type: '{field} is not valid.',
    too_short: '{field} needs at least {min} characters.',
    too_long: '{field} can have at most {max} characters.',
    'nickname.too_short': 'Enter a nickname.',
    'title.too_short': 'Enter a title.',
    format: '{field} is not in a valid form.',
    'username.format': 'Username: only a–z, 0–9, . _ -, starting and ending with a letter or digit.',
    'email.format': 'This is not a valid email address.',
    invalid_characters: '{field} contains characters that cannot be used.',
    out_of_range: '{field} is out of range.',
    invalid_value: '{field} is not valid.',
    duplicate: 'This {field} is already in use.',
    'username.duplicate': 'This username is taken.',
    'email.duplicate': 'This email belongs to another account.',
    held: "This username was in use recently and can't be taken yet.",
    invalid_token: 'This link cannot be used: it has expired or was used already.',
    reserved: 'This {field} is reserved.',
    incorrect: '{field} is wrong.',
    one_of: 'Enter either a username or an email.',
    empty_patch: 'Nothing changed.',
  },
  sessionEnded: 'Your session ended. Log in again to go back to where you were.',
};

export const ERROR_TEXTS: Record<Lang, ErrorTexts> = { ko: koErrors, en: enErrors };

/** The last Hangul syllable of a word has a final consonant (so it takes 을, 은, 이 rather than 를, 는, 가). */
function hasBatchim(word: string): boolean {
  const code = word.charCodeAt(word.length - 1) - 0xac00;
  return code >= 0 && code < 11172 && code % 28 !== 0;
}

/** Fills `{field}` (or `{field:을/를}`, with the particle that fits the word) and the other placeholders. */
function fillField(lang: Lang, template: string, field: string, params: Record<string, string | number>): string {
  const name = ERROR_TEXTS[lang].fields[field] ?? field;
  return fill(
    template.replace(/\{field(?::([^/}]+)\/([^}]+))?\}/g, (_, after: string | undefined, plain: string | undefined, at: number) => {
      // English names a field in lower case inside a sentence.
      const word = lang === 'en' && at > 0 ? name.toLowerCase() : name;
      return after === undefined || plain === undefined ? word : `${word}${hasBatchim(word) ? after : plain}`;
    }),
    params,
  );
}

/** The API's message without its `[Reason-Phrase]` prefix, for codes the page has no text of its own for. */
function apiMessage(message: string): string {
  return message.replace(/^\[[^\]]*\]\s*/, '');
}

/** Whether a failure is about this field (and so belongs on it, not in a box under the form). */
export function isOnField(error: ApiError, field: string): boolean {
  return error.errors ? error.errors.some((e) => e.field === field) : error.field === field;
}

/** What a failure says about one field, in the page's words; undefined when it is not about that field. */
export function fieldErrorText(lang: Lang, error: ApiError, field: string): string | undefined {
  if (!isOnField(error, field)) return undefined;
  const texts = ERROR_TEXTS[lang];
  const specific = error.field === field ? texts.codes[`${error.code}.${field}`] : undefined;
  if (specific) return specific;
  const issue = error.errors?.find((e) => e.field === field);
  if (!issue) return texts.codes[error.code] ?? apiMessage(error.message);
  const template = texts.issues[`${field}.${issue.code}`] ?? texts.issues[issue.code];
  return template ? fillField(lang, template, field, FIELD_LIMITS[field] ?? {}) : issue.message;
}

/** A failure as one sentence in the page's words; the API's own message only for codes the page does not know. */
export function errorText(lang: Lang, error: ApiError): string {
  const first = error.errors?.[0];
  if (first) return fieldErrorText(lang, error, first.field) ?? first.message;
  const texts = ERROR_TEXTS[lang];
  return (error.field && texts.codes[`${error.code}.${error.field}`]) || texts.codes[error.code] || apiMessage(error.message);
}
