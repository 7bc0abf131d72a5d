import { checkIncludes, checkInitramfsSettings, parseIncludeSpec, type InitramfsInclude } from '../build/initramfs.js';

/**
 * The initramfs flags of 'ukl-trim build' and 'ukl-trim APP --build': the user's files and the
 * app's argv[0]. Checked here, before any minimisation or kernel build, so a mistake costs nothing.
 */

export const INITRAMFS_FLAGS = {
  include: { type: 'string', multiple: true },
  'app-name': { type: 'string' },
} as const;

export const INITRAMFS_FLAGS_USAGE = '[--include HOST[:GUEST]]... [--app-name NAME]';

export const INITRAMFS_FLAGS_HELP = `  --include HOST[:GUEST] (repeatable): copy a file or folder of this machine into the initramfs at
    GUEST (absolute; default /NAME-OF-HOST), with its permission bits; it wins over the default
    /etc/passwd, /etc/group and /etc/hosts (root and nobody, localhost)
  --app-name NAME: start the app under argv[0] NAME (default /app), for multi-call programs`;

export interface InitramfsChoices {
  includes?: InitramfsInclude[];
  appName?: string;
}

/** the flags' values, checked: an include that is missing, not absolute or has ".." is an InitramfsError (exit 2, one line) */
export function initramfsChoices(values: { include?: string[] | undefined; 'app-name'?: string | undefined }): InitramfsChoices {
  const includes = (values.include ?? []).map(parseIncludeSpec);
  checkIncludes(includes);
  const appName = values['app-name'];
  if (appName !== undefined) checkInitramfsSettings({ appName });
  return { ...(includes.length > 0 ? { includes } : {}), ...(appName !== undefined ? { appName } : {}) };
}
