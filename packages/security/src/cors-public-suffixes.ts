/**
 * @module cors-public-suffixes
 * Domains under which anyone can get a name of their own: the second-level registries of common
 * country-code domains (`co.uk`) and the hosting platforms that give each customer a subdomain
 * (`github.io`, `vercel.app`). A CORS pattern `https://*.<one of these>` with `credentials: true`
 * lets every other customer's site read the responses as the signed-in user, so `cors()` refuses
 * it then, as it refuses `'*'` with credentials (without credentials it is allowed: a public API
 * open to an app's preview deployments, `https://*.vercel.app`). A curated subset of the Public
 * Suffix List (https://publicsuffix.org), not all of it (about 10,000 entries would weigh on an
 * Edge bundle): the ones an app is likely to be deployed under or to name by mistake.
 */
/** The second levels most country-code registries have (com.sg, net.sg, org.sg...). */
const USUAL = 'com net org gov edu'

/** Country-code domain -> its public second levels (ICANN section of the list), space-separated. */
const SECOND_LEVELS: Record<string, string> = {
  uk: 'co org ac gov me ltd plc net sch nhs',
  au: 'com net org edu gov asn id',
  nz: 'co org net ac govt geek school',
  jp: 'co ne or ac go ad ed gr lg',
  kr: 'co or ne go re pe ac',
  br: 'com net org gov edu art blog app dev',
  cn: 'com net org gov edu ac',
  hk: 'com net org gov edu idv',
  tw: 'com net org gov edu idv',
  sg: USUAL,
  my: USUAL,
  in: 'co net org firm gen ind ac edu gov',
  za: 'co org net web gov ac',
  mx: 'com net org gob edu',
  ar: 'com net org gob edu',
  co: USUAL,
  tr: 'com net org gen biz info gov edu',
  ua: 'com net org gov edu in',
  il: 'co org net ac gov muni',
  id: 'co or web ac go my biz',
  ph: USUAL,
  vn: USUAL,
  pk: USUAL,
  ng: USUAL,
  eg: USUAL,
  sa: USUAL,
  th: 'co in or ac go',
  pe: 'com net org gob edu',
  ke: 'co or ac go ne',
  tz: 'co or ac go',
  at: 'co or ac gv',
  pl: USUAL,
  gr: USUAL,
  pt: 'com org gov edu',
  es: 'com org nom gob edu',
  bd: USUAL,
  np: USUAL,
  lk: USUAL,
  uy: USUAL,
  ve: 'com net org gob edu',
  ec: 'com net org gob edu',
}

/** Hosting platforms (private section of the list): one subdomain per customer. */
const HOSTING = [
  'github.io',
  'githubusercontent.com',
  'gitlab.io',
  'bitbucket.io',
  'vercel.app',
  'now.sh',
  'netlify.app',
  'herokuapp.com',
  'pages.dev',
  'workers.dev',
  'r2.dev',
  'trycloudflare.com',
  'web.app',
  'firebaseapp.com',
  'appspot.com',
  'cloudfunctions.net',
  'run.app',
  'azurewebsites.net',
  'azurestaticapps.net',
  'azureedge.net',
  'cloudapp.net',
  'cloudapp.azure.com',
  'blob.core.windows.net',
  'cloudfront.net',
  'amazonaws.com',
  'elasticbeanstalk.com',
  'amplifyapp.com',
  'awsapprunner.com',
  'onrender.com',
  'fly.dev',
  'railway.app',
  'up.railway.app',
  'koyeb.app',
  'deno.dev',
  'ngrok.io',
  'ngrok.app',
  'ngrok-free.app',
  'loca.lt',
  'glitch.me',
  'repl.co',
  'replit.app',
  'replit.dev',
  'surge.sh',
  'codesandbox.io',
  'csb.app',
  'stackblitz.io',
  'webcontainer.io',
  'hf.space',
  'streamlit.app',
  'readthedocs.io',
  'gitbook.io',
  'blogspot.com',
  'wordpress.com',
  'myshopify.com',
  'webflow.io',
  'wixsite.com',
  'supabase.co',
  'pythonanywhere.com',
  'b-cdn.net',
  'translate.goog',
]

export const PUBLIC_SUFFIXES: ReadonlySet<string> = new Set([
  ...Object.entries(SECOND_LEVELS).flatMap(([tld, labels]) =>
    labels.split(' ').map((label) => `${label}.${tld}`)
  ),
  ...HOSTING,
])
