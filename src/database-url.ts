/** Which node of a host list a connection may stay on, as libpq's `target_session_attrs` says. */
export type TargetSessionAttrs = 'any' | 'read-write' | 'primary';

const TARGETS: readonly TargetSessionAttrs[] = ['any', 'read-write', 'primary'];

/** A `postgres://` URL split into one URL per host and the rule for choosing among them. */
export interface HostList {
  /** One single-host connection URL per listed host, in the order given. */
  urls: string[];
  target: TargetSessionAttrs;
}

const SCHEME = /^(postgres(?:ql)?:\/\/)([^/?#]*)(.*)$/s;

/**
 * Splits a libpq-style URL (`postgres://user@h1:5432,h2:5433/db?target_session_attrs=read-write`)
 * into single-host URLs, which node-postgres can open. node-postgres itself reads only one host
 * and would take `h1:5432,h2` for a host name. Throws a one-line Error on a URL it cannot read.
 */
export function parseHostList(url: string): HostList {
  const match = SCHEME.exec(url);
  if (!match) throw new Error('is not a postgres:// URL');
  const [, scheme = '', authority = '', rest = ''] = match;
  const at = authority.lastIndexOf('@');
  const userinfo = at === -1 ? '' : authority.slice(0, at + 1);
  const hosts = (at === -1 ? authority : authority.slice(at + 1)).split(',');
  // One empty host is node-postgres's default (localhost or PGHOST); an empty one in a list is a typo.
  if (hosts.length > 1 && hosts.some((host) => host === '')) throw new Error('lists an empty host');
  const probe = new URL(`${scheme}${userinfo}${hosts[0] ?? ''}${rest}`);
  const target = probe.searchParams.get('target_session_attrs') ?? 'any';
  if (!TARGETS.includes(target as TargetSessionAttrs)) {
    throw new Error(`has target_session_attrs=${target}; the service writes, so it takes any, read-write or primary`);
  }
  probe.searchParams.delete('target_session_attrs');
  const tail = `${probe.pathname}${probe.search}`;
  const urls = hosts.map((host) => {
    const single = `${scheme}${userinfo}${host}${tail}`;
    if (!URL.canParse(single)) throw new Error(`lists a host that is not valid: ${host}`);
    return single;
  });
  return { urls, target: target as TargetSessionAttrs };
}
