// Status codes and reason phrases the appliance sends (RFC 9110 §15).

const REASONS: Record<number, string> = {
  200: 'OK', 206: 'Partial Content', 301: 'Moved Permanently', 304: 'Not Modified',
  400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  412: 'Precondition Failed', 414: 'URI Too Long', 416: 'Range Not Satisfiable',
  431: 'Request Header Fields Too Large', 505: 'HTTP Version Not Supported',
};

export function reasonPhrase(status: number): string {
  return REASONS[status] ?? 'Unknown';
}
