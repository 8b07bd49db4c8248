/**
 * Training tasks in words a newcomer can read. A generator's gate names the training tasks most like
 * the prompts (`training.gate_tasks` of its manifest), with the trainer's ids:
 *
 * - synthetic tasks, `synth/<family>/<variant>` (trainer/tasks/factory.py: seven families, the
 *   variant naming the operation, then the answer format, wrapper or label set);
 * - staged datasets by name (`GSM8K`, `ARC-Easy`; the datasets folder's manifest);
 * - their sub-tasks (trainer/tasks/pool.py): an MMLU subject (`MMLU-STEM/college-physics`) or a pair
 *   of a classification dataset's labels (`TREC/entity+human`: rows with those two labels only).
 *
 * `readableTask` turns an id into its group (the family or dataset) and what the task does; an id
 * it does not know (another generator's task) keeps its raw form, never a made-up description.
 */

export interface ReadableTask {
  /** The raw id, as the generator's manifest names it (shown as a tooltip). */
  id: string;
  /** The synthetic family ("Arithmetic (synthetic)") or the dataset ("GSM8K"). */
  group: string;
  /** What the task does, in words; null when the id is not one this table knows. */
  what: string | null;
}

/** One line for people: "Arithmetic (synthetic): multiply two numbers …"; the raw id when unknown. */
export function taskLabel(task: ReadableTask): string {
  return task.what ? `${task.group}: ${task.what}` : task.group;
}

export function readableTask(id: string): ReadableTask {
  const unknown: ReadableTask = { id, group: id, what: null };
  if (id.startsWith('synth/')) {
    const [, family, variant, ...rest] = id.split('/');
    const spec = family !== undefined ? FAMILIES[family] : undefined;
    if (!spec || variant === undefined || rest.length > 0) return unknown;
    const what = spec.describe(variant);
    return what ? { id, group: `${spec.name} (synthetic)`, what } : unknown;
  }
  const slash = id.indexOf('/');
  const dataset = slash < 0 ? id : id.slice(0, slash);
  const about = DATASETS[dataset];
  if (!about) return unknown;
  if (slash < 0) return { id, group: dataset, what: about };
  const sub = id.slice(slash + 1);
  if (sub === '') return unknown;
  const labels = sub.split('+');
  if (labels.length === 2 && labels.every((l) => l !== '')) {
    return { id, group: dataset, what: `${about}, only the labels ${quoted(labels[0] ?? '')} and ${quoted(labels[1] ?? '')}` };
  }
  if (labels.length > 1) return unknown;
  // an MMLU subject: the trainer's slug of "college physics", "high school us history" ...
  return { id, group: dataset, what: `${about}, ${subjectWords(sub)} only` };
}

function quoted(s: string): string {
  return `“${s}”`;
}

/** Words of MMLU subjects that the trainer's slug wrote in small letters. */
const PROPER: Readonly<Record<string, string>> = { us: 'US', european: 'European' };

/** An MMLU subject's slug in words ("high-school-us-history" -> "high school US history"). */
function subjectWords(slug: string): string {
  return slug.split('-').map((w) => PROPER[w] ?? w).join(' ');
}

/** What each staged dataset asks (its manifest's kind and transform, in a few words). */
const DATASETS: Readonly<Record<string, string>> = {
  'AG-News': 'the topic of a news item (world, sports, business, sci/tech)',
  CoLA: 'whether a sentence is grammatical',
  RTE: 'whether one sentence follows from another',
  'SST-2': 'whether a film review sentence is positive or negative',
  TREC: 'what kind of answer a question asks for',
  'TweetEval-Emotion': 'the emotion of a tweet',
  'TweetEval-Hate': 'whether a tweet is hateful',
  'TweetEval-Irony': 'whether a tweet is ironic',
  'TweetEval-Offensive': 'whether a tweet is offensive',
  CodeAlpaca: 'code written from an instruction',
  HumanEval: 'a Python function completed from its docstring',
  MBPP: 'a Python function that passes given tests',
  CommonGen: 'a sentence that uses a set of words',
  'NQ-Open': 'short answers to search-engine questions',
  AQuA: 'algebra word problems, multiple choice with a worked answer',
  ASDiv: 'school maths word problems, answered with an equation',
  AddSub: 'addition and subtraction word problems, answered with an equation',
  GSM8K: 'grade-school maths word problems, worked step by step',
  MATH: 'competition maths problems, worked step by step',
  MAWPS: 'maths word problems, answered with an equation',
  'Math-IIO-68K-Mini': 'arithmetic and linear equations, worked',
  'Mu-Math': 'university calculus problems',
  MultiArith: 'multi-step arithmetic word problems, answered with an equation',
  SVAMP: 'arithmetic word problems with twists, answered with an equation',
  SingleEq: 'word problems solved by one equation',
  'ARC-Challenge': 'grade-school science questions (the hard set), multiple choice',
  'ARC-Easy': 'grade-school science questions, multiple choice',
  CommonsenseQA: 'common-sense questions, multiple choice',
  DREAM: 'questions about a dialogue, multiple choice',
  HellaSwag: 'how a described scene goes on, multiple choice',
  LogiQA: 'logical reasoning questions, multiple choice',
  'MMLU-Humanities': 'exam questions in the humanities, multiple choice',
  'MMLU-Other': 'exam questions in medicine, business and other subjects, multiple choice',
  'MMLU-STEM': 'exam questions in science, maths and engineering, multiple choice',
  'MMLU-SocialSciences': 'exam questions in the social sciences, multiple choice',
  MathQA: 'maths word problems, multiple choice',
  OpenBookQA: 'elementary science questions, multiple choice',
  PIQA: 'which of two ways reaches an everyday goal',
  SciQ: 'science exam questions, multiple choice',
  SocialIQA: 'what people in a situation feel or do next, multiple choice',
  'TruthfulQA-MC': 'questions people often answer wrongly, multiple choice',
  WinoGrande: 'which of two words fills a blank, by common sense',
  BoolQ: 'yes/no questions without a passage',
  StrategyQA: 'yes/no questions that take a few steps of reasoning',
};

interface FamilySpec {
  name: string;
  /** What a variant of the family does; null for a variant this table does not know. */
  describe: (variant: string) => string | null;
}

/** Splits "mul-words-hash" by a known tail ("hash"), returning the head ("mul-words") and the tail's words. */
function splitTail(variant: string, tails: Readonly<Record<string, string>>): [string, string] | null {
  for (const [tail, words] of Object.entries(tails)) {
    if (variant.endsWith(`-${tail}`)) return [variant.slice(0, -tail.length - 1), words];
  }
  return null;
}

function lookup(table: Readonly<Record<string, string>>, key: string): string | null {
  return Object.hasOwn(table, key) ? (table[key] ?? null) : null;
}

const WRAPPERS = { plain: 'answer plain', brackets: 'answer in [square brackets]', quotes: 'answer in "double quotes"' } as const;

const TRANSFORMS: Readonly<Record<string, string>> = {
  upper: 'rewrite a sentence in capital letters',
  lower: 'rewrite a sentence written in capitals in small letters',
  title: 'capitalise every word of a sentence',
  reverse: 'reverse the order of a sentence’s words',
  sort: 'sort a sentence’s words alphabetically',
  second: 'give a sentence’s second word',
  last: 'give a sentence’s last word',
  'first-three': 'keep a sentence’s first three words',
  longest: 'give a sentence’s longest word',
  acronym: 'make an acronym of a sentence’s first letters',
  hyphens: 'join a sentence’s words with hyphens',
  underscores: 'join a sentence’s words with underscores',
  swap: 'swap a sentence’s first and last words',
};

const COUNT_FORMATS = { plain: 'answer “N”', answer: 'answer “The answer is N.”', hash: 'answer “#### N”' } as const;

function transform(variant: string): string | null {
  if (variant.startsWith('count-words-')) {
    const format = lookup(COUNT_FORMATS, variant.slice('count-words-'.length));
    return format ? `count a sentence’s words, ${format}` : null;
  }
  const split = splitTail(variant, WRAPPERS);
  const op = split ? lookup(TRANSFORMS, split[0]) : null;
  return split && op ? `${op}, ${split[1]}` : null;
}

const ARITH_OPS: Readonly<Record<string, string>> = {
  add: 'add two numbers',
  sub: 'subtract one number from another',
  mul: 'multiply two numbers',
  max3: 'the largest of three numbers',
  min3: 'the smallest of three numbers',
  absdiff: 'the difference between two numbers',
  sum3: 'add three numbers',
  avg2: 'the average of two numbers',
  'story-add': 'a word problem where someone gets more things',
  'story-sub': 'a word problem where someone gives things away',
};
const ARITH_FORMATS = {
  answer: 'answer “The answer is N.”',
  colon: 'answer “Answer: N”',
  hash: 'answer “#### N”',
  worked: 'a worked line, then “The answer is N.”',
} as const;
const NUMBER_STYLES = { digits: 'numbers in digits', words: 'numbers written in words' } as const;

function arith(variant: string): string | null {
  const format = splitTail(variant, ARITH_FORMATS);
  const style = format ? splitTail(format[0], NUMBER_STYLES) : null;
  const op = style ? lookup(ARITH_OPS, style[0]) : null;
  return format && style && op ? `${op}, ${style[1]}, ${format[1]}` : null;
}

/** A label rule: the question it asks of a sentence, and its own label words (the "-words" variant). */
const LABEL_RULES: Readonly<Record<string, [string, string]>> = {
  digit: ['does a sentence contain a digit?', '[number] / [none]'],
  animal: ['does a sentence mention an animal?', '[animal] / [other]'],
  food: ['does a sentence mention a food?', '[food] / [nofood]'],
  colour: ['does a sentence mention a colour?', '[colour] / [plain]'],
  sport: ['does a sentence mention a sport?', '[sport] / [nosport]'],
  person: ['does a sentence name a person?', '[person] / [noperson]'],
  question: ['is a sentence a question?', '[question] / [statement]'],
  long: ['does a sentence have more than ten words?', '[long] / [short]'],
  sentiment: ['is a sentence positive?', '[positive] / [negative]'],
  negation: ['does a sentence contain “not”?', '[negated] / [affirmed]'],
  tense: ['is a sentence about the future?', '[future] / [past]'],
  plural: ['is a sentence’s subject plural?', '[plural] / [singular]'],
};
const LABEL_SETS = { 'yes-no': '[yes] / [no]', 'one-zero': '[1] / [0]', 'true-false': '[True] / [False]', words: '' } as const;

function label(variant: string): string | null {
  if (variant === 'topic-words') return 'the topic of a sentence, labels [animal] / [food] / [sport] / [colour]';
  if (variant === 'topic-numbers') return 'the topic of a sentence as a number, labels [1] to [4]';
  const split = splitTail(variant, LABEL_SETS);
  const rule = split && Object.hasOwn(LABEL_RULES, split[0]) ? LABEL_RULES[split[0]] : undefined;
  if (!split || !rule) return null;
  return `${rule[0]} labels ${split[1] === '' ? rule[1] : split[1]}`;
}

const PURCHASE_FIELDS: Readonly<Record<string, string>> = {
  name: 'name', city: 'city', day: 'day', count: 'count', colour: 'colour', items: 'items', price: 'price',
};
const EXTRACT_PAIRS: Readonly<Record<string, string>> = {
  'name-city': 'the name and the city out of a purchase sentence, as “name, city”',
  'count-items': 'the count and the items out of a purchase sentence, as “count items”',
  'colour-items': 'the colour and the items out of a purchase sentence, as “colour items”',
  'day-price': 'the day and the price out of a purchase sentence, as “day, price”',
};
const EXTRACT_WRAPPERS = { plain: 'answered plain', brackets: 'in [square brackets]', label: 'labelled' } as const;

function extract(variant: string): string | null {
  const pair = lookup(EXTRACT_PAIRS, variant);
  if (pair) return pair;
  const split = splitTail(variant, EXTRACT_WRAPPERS);
  if (!split) return null;
  const [head, wrapper] = split;
  if (head.startsWith('appointment-')) {
    const field = head.slice('appointment-'.length);
    if (!['date', 'time', 'place'].includes(field) || wrapper === 'labelled') return null;
    return `the ${field} out of an appointment sentence, ${wrapper}`;
  }
  const field = lookup(PURCHASE_FIELDS, head);
  if (!field) return null;
  const how = wrapper === 'labelled' ? `as “${field[0]?.toUpperCase() ?? ''}${field.slice(1)}: …”` : wrapper;
  return `the ${field} out of a purchase sentence, ${how}`;
}

const CHOICE_QUESTIONS: Readonly<Record<string, string>> = {
  longest: 'which word is the longest?',
  shortest: 'which word is the shortest?',
  largest: 'which number is the largest?',
  smallest: 'which number is the smallest?',
  animal: 'which one is an animal?',
  food: 'which one is a food?',
  colour: 'which one is a colour?',
  city: 'which one is a city?',
  'odd-one-out': 'which one does not belong?',
  even: 'which number is even?',
};
const CHOICE_FORMATS = {
  mcq4: '4 options, answer “[B]”',
  mcq3: '3 options, answer “[B]”',
  paren: '4 options, answer “(B)”',
  line: '4 options, answer with the option’s line “B: word”',
} as const;

function choice(variant: string): string | null {
  const split = splitTail(variant, CHOICE_FORMATS);
  const question = split ? lookup(CHOICE_QUESTIONS, split[0]) : null;
  return split && question ? `${question} ${split[1]}` : null;
}

const LAYOUTS: Readonly<Record<string, string>> = {
  'json-text': 'a short text as a JSON object {"text": …}',
  'json-list': 'a short text as a JSON list of its words',
  'numbered-lines': 'a short text as numbered lines',
  'numbered-inline': 'a short text numbered inline: (1) word (2) word',
  bullets: 'a short text as a bullet list',
  lines: 'a short text, one word per line',
  commas: 'a short text as comma-separated words',
  twice: 'a short text twice: text | text',
  'html-bold': 'a short text in HTML bold: <b>text</b>',
  'xml-tag': 'a short text in an XML tag: <text>text</text>',
  'md-bold': 'a short text in Markdown bold: **text**',
  'md-heading': 'a short text as a Markdown heading: # text',
  sentence: 'a short text as a proper sentence (capital letter, full stop)',
  'bracket-each': 'a short text with each word in [brackets]',
  'quote-each': 'a short text with each word in "quotes"',
  'count-json': 'a short text’s word count as JSON {"words": N}',
  'person-json': 'a person and a city as JSON {"name", "city"}',
  'person-csv': 'a person and a city as CSV with a header line',
};

const QUESTIONS: Readonly<Record<string, string>> = {
  greater: 'is one number greater than another?',
  'even-number': 'is a number even?',
  sum: 'is a sum right?',
  product: 'is a product right?',
  multiple: 'is a number a multiple of another?',
  'digit-sum': 'do a number’s digits add up to a value?',
  'is-animal': 'is someone’s thing an animal?',
  'is-food': 'is someone’s thing something to eat?',
  'in-list': 'is a word one of a list?',
  alphabet: 'does a word come before another in the alphabet?',
  'longer-word': 'is a word longer than another?',
  'same-length': 'do two words have as many letters?',
  'has-letter': 'is a letter in a word?',
  'more-words': 'does a phrase have more than N words?',
  'lives-in': 'a stated fact, then: does someone live in a city?',
  'has-more': 'a stated fact, then: does someone have more than N things?',
  'next-day': 'is a day the next day of the week?',
};

function question(variant: string): string | null {
  const q = lookup(QUESTIONS, variant);
  return q ? `${q} answered [True] / [False] with no instruction` : null;
}

/** trainer/tasks/factory.py's families, each with a readable name and its variants' descriptions. */
const FAMILIES: Readonly<Record<string, FamilySpec>> = {
  transform: { name: 'Rewriting words', describe: transform },
  arith: { name: 'Arithmetic', describe: arith },
  label: { name: 'Labelling sentences', describe: label },
  extract: { name: 'Extracting fields', describe: extract },
  choice: { name: 'Multiple choice', describe: choice },
  format: { name: 'Laying out text', describe: (v) => lookup(LAYOUTS, v) },
  question: { name: 'Yes/no questions', describe: question },
};
