// Role value templates as Teleport writes them: `prefix{{expression}}suffix`, where expression is
//   internal.<trait> | external.<trait>   (any name: one the user has no value for stands for nothing,
//                                          as in Teleport, where roles name traits some users lack)
//   email.local(<expression>)
//   regexp.replace(<expression>, "<regexp>", "<replacement>")
// A value without `{{` or `}}` is a literal.

export type Traits = Record<string, string[]>;

type Expr =
  | { kind: 'trait'; name: string }
  | { kind: 'email.local'; arg: Expr }
  | { kind: 'regexp.replace'; arg: Expr; pattern: RegExp; replacement: string };

type Template = { prefix: string; expr: Expr; suffix: string };

class TemplateSyntaxError extends Error {}

const TEMPLATE = /^([^{}]*)\{\{([^{}]*)\}\}([^{}]*)$/;
const IDENT_PATH = /[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*/y;
const STRING_LITERAL = /"(?:[^"\\]|\\.)*"/y;

class ExpressionParser {
  private pos = 0;
  constructor(private readonly src: string) {}

  parse(): Expr {
    const expr = this.expression();
    this.skipSpace();
    if (this.pos !== this.src.length) this.fail(`unexpected "${this.src.slice(this.pos)}"`);
    return expr;
  }

  private expression(): Expr {
    this.skipSpace();
    const name = this.match(IDENT_PATH);
    if (name === undefined) this.fail('expected internal.<trait>, external.<trait> or a function');
    this.skipSpace();
    if (this.src[this.pos] !== '(') return this.trait(name);
    this.pos++;
    if (name === 'email.local') {
      const arg = this.expression();
      this.expect(')');
      return { kind: 'email.local', arg };
    }
    if (name === 'regexp.replace') {
      const arg = this.expression();
      this.expect(',');
      const source = this.string();
      this.expect(',');
      const replacement = this.string();
      this.expect(')');
      let pattern: RegExp;
      try {
        pattern = new RegExp(source, 'g');
      } catch (err) {
        this.fail(`regexp.replace: ${JSON.stringify(source)} is not a valid regular expression (${(err as Error).message})`);
      }
      return { kind: 'regexp.replace', arg, pattern, replacement };
    }
    this.fail(`unsupported function "${name}" (use email.local or regexp.replace)`);
  }

  private trait(path: string): Expr {
    const [namespace, name, ...rest] = path.split('.');
    if (name === undefined || rest.length > 0 || (namespace !== 'internal' && namespace !== 'external')) {
      this.fail(`"${path}" is not a trait: use internal.<name> or external.<name>`);
    }
    return { kind: 'trait', name };
  }

  private string(): string {
    this.skipSpace();
    const literal = this.match(STRING_LITERAL);
    if (literal === undefined) this.fail('expected a double-quoted string');
    try {
      return JSON.parse(literal) as string;
    } catch {
      this.fail(`invalid string ${literal}`);
    }
  }

  private expect(char: string): void {
    this.skipSpace();
    if (this.src[this.pos] !== char) this.fail(`expected "${char}"`);
    this.pos++;
  }

  private match(re: RegExp): string | undefined {
    re.lastIndex = this.pos;
    const m = re.exec(this.src);
    if (!m) return undefined;
    this.pos = re.lastIndex;
    return m[0];
  }

  private skipSpace(): void {
    while (this.pos < this.src.length && /\s/.test(this.src[this.pos]!)) this.pos++;
  }

  private fail(message: string): never {
    throw new TemplateSyntaxError(message);
  }
}

/** Undefined for a literal; throws TemplateSyntaxError for a malformed template. */
function parseTemplate(value: string): Template | undefined {
  const m = TEMPLATE.exec(value);
  if (!m) {
    if (value.includes('{{') || value.includes('}}')) {
      throw new TemplateSyntaxError('template brackets do not parse: write prefix{{expression}}suffix');
    }
    return undefined;
  }
  return { prefix: m[1]!.trimStart(), expr: new ExpressionParser(m[2]!).parse(), suffix: m[3]!.trimEnd() };
}

export function isTemplate(value: string): boolean {
  return value.includes('{{') || value.includes('}}');
}

/** Why a value is not a valid template, or undefined when it is a literal or a valid template. */
export function templateProblem(value: string): string | undefined {
  try {
    parseTemplate(value);
    return undefined;
  } catch (err) {
    if (err instanceof TemplateSyntaxError) return `${JSON.stringify(value)}: ${err.message}`;
    throw err;
  }
}

const EMAIL = /^([^@\s]+)@[^@\s]+$/;

/** Undefined when the expression cannot be evaluated: a missing trait or an invalid email. */
function evaluate(expr: Expr, traits: Traits): string[] | undefined {
  switch (expr.kind) {
    case 'trait':
      return Object.hasOwn(traits, expr.name) ? traits[expr.name] : undefined;
    case 'email.local': {
      const values = evaluate(expr.arg, traits);
      if (values === undefined) return undefined;
      const locals: string[] = [];
      for (const value of values) {
        const m = EMAIL.exec(value);
        if (!m) return undefined;
        locals.push(m[1]!);
      }
      return locals;
    }
    case 'regexp.replace': {
      const values = evaluate(expr.arg, traits);
      if (values === undefined) return undefined;
      // Values the regexp does not match are dropped.
      return values.map((value) => {
        expr.pattern.lastIndex = 0;
        return expr.pattern.test(value) ? value.replace(expr.pattern, expr.replacement) : '';
      });
    }
  }
}

/**
 * The values a role entry stands for given the user's traits: the literal itself, or one value per
 * trait value with the literal prefix and suffix around it. Empty when the trait is missing or empty,
 * or the template is malformed.
 */
export function expandTemplate(value: string, traits: Traits): string[] {
  let template: Template | undefined;
  try {
    template = parseTemplate(value);
  } catch (err) {
    if (err instanceof TemplateSyntaxError) return [];
    throw err;
  }
  if (!template) return [value];
  const values = evaluate(template.expr, traits) ?? [];
  return values.filter((v) => v !== '').map((v) => template.prefix + v + template.suffix);
}
