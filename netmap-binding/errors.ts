// The binding's errors. netmap-binding imports nothing from the rest of the repository, so
// it has its own small error class; its codes are the appliance's (APPL_ERR_*), and the
// CLI prints it like any other coded error (basics/errors.ts: isApplianceError).

export type BindingErrorCode =
  | 'APPL_ERR_USAGE'
  | 'APPL_ERR_XDP_OPEN'
  | 'APPL_ERR_XDP_PERMISSION'
  | 'APPL_ERR_XDP_UNSUPPORTED'
  | 'APPL_ERR_XDP_IFACE'
  | 'APPL_ERR_XDP_QUEUE'
  | 'APPL_ERR_XDP_UMEM'
  | 'APPL_ERR_XDP_ATTACH'
  | 'APPL_ERR_XDP_BUSY'
  | 'APPL_ERR_XDP_NATIVE'
  | 'APPL_ERR_XDP_NETNS'
  | 'APPL_ERR_XDP_LOAD'
  | 'APPL_ERR_CAPTURE';

export class BindingError extends Error {
  readonly code: BindingErrorCode;
  constructor(code: BindingErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BindingError';
    this.code = code;
  }
}

/** A misuse of the binding's API (a programming or configuration error). */
export function usage(message: string): BindingError {
  return new BindingError('APPL_ERR_USAGE', message);
}
