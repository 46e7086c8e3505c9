/** Languages the API answers in. */
export const LOCALES = ['ko', 'en'] as const;
export type Locale = (typeof LOCALES)[number];

/** A text in every locale. */
export type Text = Readonly<Record<Locale, string>>;

/** Texts more specific than an error code's default. */
export const SPECIFIC_TEXTS = {
  'duplicate.title': { ko: '동일한 이름의 프로젝트가 이미 존재합니다.', en: 'A project with the same title already exists.' },
  'forbidden.crossOrigin': {
    ko: '다른 출처에서 세션 쿠키로 보낸 요청은 허용되지 않습니다.',
    en: 'Requests from another origin with the session cookie are not allowed.',
  },
  'forbidden.crossOriginLogin': {
    ko: '다른 출처에서 보낸 로그인 요청은 허용되지 않습니다.',
    en: 'Login requests from another origin are not allowed.',
  },
  'invalidJson.base64': {
    ko: '요청 본문이 base64로 표시되어 있지만 올바른 base64가 아닙니다.',
    en: 'The request body is marked as base64 but is not valid base64.',
  },
  'invalidJson.utf8': { ko: '요청 본문이 올바른 UTF-8이 아닙니다.', en: 'The request body is not valid UTF-8.' },
  'unsupportedMedia.contentEncoding': {
    ko: '요청 본문은 인코딩하지 않고 보내야 합니다. (Content-Encoding: identity만 허용)',
    en: 'The request body must not be encoded (Content-Encoding: identity only).',
  },
  'unavailable.schemaOutdated': {
    ko: '데이터베이스 스키마가 최신이 아닙니다. 마이그레이션(npm run migrate)이 필요합니다.',
    en: 'The database schema is not up to date; the migrations (npm run migrate) have not been applied.',
  },
  'state.nothingToVerify': {
    ko: '확인할 이메일이 없습니다. 이미 확인된 주소입니다.',
    en: 'There is no email to verify; the address is verified already.',
  },
  'state.projectDeleted': {
    ko: '삭제된 프로젝트는 수정할 수 없습니다. 먼저 복원하세요.',
    en: 'A deleted project cannot be changed; restore it first.',
  },
} as const satisfies Record<string, Text>;

export type SpecificTextKey = keyof typeof SPECIFIC_TEXTS;

/** Field-level validation codes, as they appear in `errors[].code`. */
export const FIELD_ISSUE_TEXTS = {
  required: { ko: '{field} 값이 필요합니다.', en: '{field} is required.' },
  type: { ko: '{field} 값의 타입이 올바르지 않습니다.', en: '{field} has the wrong type.' },
  too_short: { ko: '{field} 값이 너무 짧습니다. (최소 {min}자)', en: '{field} is too short (at least {min} characters).' },
  too_long: { ko: '{field} 값이 너무 깁니다. (최대 {max}자)', en: '{field} is too long (at most {max} characters).' },
  format: { ko: '{field} 값의 형식이 올바르지 않습니다.', en: '{field} is badly formed.' },
  invalid_characters: {
    ko: '{field} 값에 허용되지 않는 문자(NUL, 짝이 없는 서로게이트)가 있습니다.',
    en: '{field} contains characters that are not allowed (NUL or unpaired surrogates).',
  },
  out_of_range: { ko: '{field} 값이 허용 범위를 벗어났습니다.', en: '{field} is out of range.' },
  invalid_value: { ko: '{field} 값이 허용된 값이 아닙니다.', en: '{field} is not one of the allowed values.' },
  duplicate: { ko: '이미 존재하는 {field}입니다', en: 'This {field} already exists' },
  held: { ko: '최근까지 사용되던 {field}라서 아직 쓸 수 없습니다.', en: 'This {field} was in use recently and cannot be taken yet.' },
  invalid_token: {
    ko: '링크가 올바르지 않거나, 만료되었거나, 이미 사용되었습니다.',
    en: 'The link is invalid, has expired or was used already.',
  },
  reserved: { ko: '{field} 값은 예약되어 사용할 수 없습니다.', en: 'This {field} is reserved.' },
  incorrect: { ko: '{field} 값이 올바르지 않습니다.', en: '{field} is incorrect.' },
  one_of: { ko: '{field} 또는 {other} 중 정확히 하나가 필요합니다.', en: 'Exactly one of {field} or {other} is required.' },
  empty_patch: { ko: '변경할 값이 하나 이상 필요합니다.', en: 'At least one field to change is required.' },
} as const satisfies Record<string, Text>;

export type FieldIssueCode = keyof typeof FIELD_ISSUE_TEXTS;

/** Fills `{name}` placeholders; unknown placeholders are left as they are. */
export function fill(template: string, params: Readonly<Record<string, string | number>>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}
