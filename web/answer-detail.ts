// The reason of a refusal the server sent: its `detail` (a string, or a 422's issues joined).

/** The server's `detail` of a refused answer, or its status line when it sent none. */
export async function detailOf(response: Response): Promise<string> {
  const fallback = `${response.status} ${response.statusText}`;
  try {
    const body = (await response.json()) as { detail?: unknown };
    if (typeof body.detail === 'string') return body.detail;
    if (Array.isArray(body.detail)) {
      return body.detail.map((d: { msg?: string }) => d.msg ?? '').join('; ') || fallback;
    }
    return fallback;
  } catch {
    return fallback;
  }
}
