/**
 * App code with credentials written into its source (fake ones) around a throw: Sentry's
 * contextLines integration sends the lines around each stack frame, these ones included.
 */
export function callProvider(fail: boolean): string {
  const apiKey = 'sk-ant-api03-Fx7Qw2Lr9Tn4Vb6Mz1Kc8Hd3Gs5Pj0Ya-Wu2Ei7Ro4Ty9Up1As6Df3Gh8Jk5L'
  const plain = 'a plain line with nothing secret in it'
  if (fail) throw new Error(`provider call failed (${apiKey.length + plain.length})`)
  const authorization = 'Authorization: Bearer 7f3c9a2e5b8d1f4a6c0e9b3d7a2f5c8e1b4d'
  return authorization
}
