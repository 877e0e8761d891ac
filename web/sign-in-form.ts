// The prompt's password sign-in: one at a time (its button is disabled while a sign-in waits
// for its answer, bounded by SIGN_IN_TIMEOUT_MS in web/sign-in.ts's login), then usable again
// whatever came; a refusal or no answer is the prompt's error line.

import { login } from './sign-in.ts';
import { byId } from './view.ts';

/** Wires #login-form; `onSignedIn` gets the access token of a sign-in that worked. */
export function wireSignIn(onSignedIn: (accessToken: string) => void): void {
  byId('login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const email = byId<HTMLInputElement>('email').value;
    const password = byId<HTMLInputElement>('password').value;
    const button = byId<HTMLButtonElement>('login-button');
    button.disabled = true;
    byId('auth-error').textContent = '';
    login(email, password)
      .then(
        (token) => {
          // Null: a key was pasted while this sign-in waited, and stays.
          if (token !== null) onSignedIn(token);
        },
        (error: unknown) => {
          byId('auth-error').textContent = error instanceof Error ? error.message : String(error);
        },
      )
      .finally(() => {
        button.disabled = false;
      });
  });
}
