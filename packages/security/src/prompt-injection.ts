/**
 * @module prompt-injection
 * Injection heuristics, matched on normalised text (see prompt-normalize). They are a tripwire
 * for the common verbatim and obfuscated attacks, tuned so ordinary prompts ("ignore whitespace in
 * git diff", "the previous instructions were unclear") do not trip them; they cannot catch
 * paraphrases or meaning-level attacks (use the `detector` hook for those).
 */

/** Ids of the injection rules. */
export type InjectionRuleId =
  | 'injection.override'
  | 'injection.prompt-leak'
  | 'injection.jailbreak'
  | 'injection.role-markers'
  | 'injection.fake-turn'

interface PhraseRule {
  id: InjectionRuleId
  /** Matched against the `words` and `leet` forms (lower-case, no punctuation). */
  patterns: RegExp[]
}

const VERB =
  '(?:ignore|ignoring|disregard|disregarding|forget|forgetting|skip|bypass|override|overwrite|neglect|abandon|discard|drop|do not follow|dont follow|don t follow|stop following|no longer follow)'
const STRONG_ADJ =
  '(?:previous|prior|above|earlier|preceding|foregoing|former|initial|original|aforementioned|system|developer|safety|existing|old)'
const WEAK_ADJ = '(?:all|any|your|the|these|those|every|of|my|its)'
const OBJECT =
  '(?:instructions?|prompts?|directives?|guidelines?|guardrails?|programming|rules|restrictions|constraints|context|messages|commands|orders|policies|policy)'
const STRONG_OBJECT = '(?:instructions?|directives?|guardrails?|programming|system prompt)'

const PHRASE_RULES: PhraseRule[] = [
  {
    id: 'injection.override',
    patterns: [
      // "ignore (all) (the) previous instructions", "disregard your system prompt"
      new RegExp(`\\b${VERB} (?:${WEAK_ADJ} ){0,3}${STRONG_ADJ} (?:\\w+ )?${OBJECT}\\b`),
      // "ignore all instructions", "forget your programming"
      new RegExp(`\\b${VERB} (?:${WEAK_ADJ} ){1,3}${STRONG_OBJECT}\\b`),
      // "forget everything above / you were told"
      /\b(?:forget|ignore|disregard) (?:everything|all|anything) (?:above|before|you (?:were|have been) told|said before|i said before)\b/,
      // "new instructions:" / "your new instructions are"
      /\b(?:your )?new (?:system )?instructions (?:are|follow)\b/,
      // a few other languages (accents are dropped by normalisation)
      /\bignor(?:a|ar|e|ez|er|iere|ieren) (?:(?:todas|toutes|alle|tutte|as|las|les|le|die) ){0,2}(?:(?:vorherigen|bisherigen|obigen) )?(?:instrucciones|instructions|anweisungen|istruzioni|instrucoes)(?: (?:anteriores|previas|precedentes|precedenti|anterieures))?\b/,
    ],
  },
  {
    id: 'injection.prompt-leak',
    patterns: [
      /\b(?:reveal|print|show|output|repeat|display|tell|give|leak|dump|write out|spell out|recite|expose|share|what is|what are|what s)(?: me| us)? (?:your|the) (?:\w+ ){0,2}(?:system prompt|system message|initial prompt|hidden prompt|secret prompt|original prompt|developer message|original instructions|initial instructions|hidden instructions|secret instructions|instructions above|prompt above|text above)\b/,
      /\b(?:repeat|print|output) (?:everything|all|the text) (?:above|before this)\b/,
    ],
  },
  {
    id: 'injection.jailbreak',
    patterns: [
      /\b(?:you are now|you re now|from now on you are|act as|pretend to be|pretend you are|roleplay as|role play as) (?:an? |the )?(?:dan|unrestricted|unfiltered|jailbroken|uncensored|evil|unaligned|amoral)\b/,
      /\bdeveloper mode (?:enabled|on|activated|output)\b/,
      /\bdo anything now\b/,
      /\b(?:enable|activate|enter) (?:dan|jailbreak|god) mode\b/,
      /\bwithout (?:any )?(?:restrictions|filters|censorship) (?:and|or) (?:limitations|rules|guidelines)\b/,
    ],
  },
]

/** Chat-template tokens that have no business in user text (matched on the folded form). */
const ROLE_MARKERS =
  /<\|(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id|end_header_id)\|>|\[\/?inst\]|<<\/?sys>>|<\/?(?:system|system_prompt)>/

/**
 * A fake conversation turn at the start of a line: `\nSystem: …`, `### Assistant:`. The blanks
 * before the role stay on its line (`[^\S\n]`): a `\s*` there ran from every line break over all
 * the blank lines after it, quadratic in a run of them (seconds for 96 000 line breaks).
 */
const FAKE_TURN = /(?:^|\n)[^\S\n]*(?:#{1,4}[^\S\n]*)?(?:system|assistant)[^\S\n]*:\s*\S/

/** One matched rule (no matched text is kept: it may hold personal data). */
export interface InjectionMatch {
  id: InjectionRuleId
}

/** Runs the phrase rules on the word forms, the marker rules on the folded form. */
export function findInjections(forms: {
  folded: string
  words: string
  leet: string
}): InjectionRuleId[] {
  const ids: InjectionRuleId[] = []
  for (const rule of PHRASE_RULES) {
    if (rule.patterns.some((p) => p.test(forms.words) || p.test(forms.leet))) ids.push(rule.id)
  }
  if (ROLE_MARKERS.test(forms.folded)) ids.push('injection.role-markers')
  if (FAKE_TURN.test(forms.folded)) ids.push('injection.fake-turn')
  return ids
}

/** ROT13 of ASCII letters (an evasion seen in the wild; rules run on it once). */
export function rot13(text: string): string {
  return text.replace(/[a-z]/gi, (c) => {
    const base = c <= 'Z' ? 65 : 97
    return String.fromCharCode(((c.charCodeAt(0) - base + 13) % 26) + base)
  })
}
