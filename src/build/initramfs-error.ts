import { UklTrimError } from '../util/errors.js';

/** what building an initramfs refuses: the app, an option, an --include; or no static toolchain for init */
export type InitramfsErrorCode = 'app-missing' | 'app-not-elf' | 'app-wrong-arch' | 'app-dynamic' | 'app-not-executable' | 'bad-option' | 'bad-include' | 'init-compile';

export class InitramfsError extends UklTrimError<InitramfsErrorCode> {
  static readonly codes: readonly InitramfsErrorCode[] = ['app-missing', 'app-not-elf', 'app-wrong-arch', 'app-dynamic', 'app-not-executable', 'bad-option', 'bad-include', 'init-compile'];
}
