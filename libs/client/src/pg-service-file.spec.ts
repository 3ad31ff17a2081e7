import { removeServiceSection, upsertServiceSection } from './pg-service-file.js';

const ENTRIES = { host: 'proxy.example.com', port: '3080', sslmode: 'verify-full' };
const SECTION = '[root-aurora]\nhost=proxy.example.com\nport=3080\nsslmode=verify-full\n';

const MINE = `# my own databases
[local]
host=localhost
dbname=app

# staging, do not remove
[staging]
host=staging.internal
`;

describe('upsertServiceSection', () => {
  it('writes a new file as one section of key=value lines, no spaces around =', () => {
    expect(upsertServiceSection('', 'root-aurora', ENTRIES)).toBe(SECTION);
  });

  it('appends after the existing text, separated by one blank line, keeping every line before it', () => {
    expect(upsertServiceSection(MINE, 'root-aurora', ENTRIES)).toBe(`${MINE}\n${SECTION}`);
    expect(upsertServiceSection(MINE + '\n', 'root-aurora', ENTRIES)).toBe(`${MINE}\n${SECTION}`);
    expect(upsertServiceSection('[a]\nhost=x', 'root-aurora', ENTRIES)).toBe(`[a]\nhost=x\n\n${SECTION}`);
  });

  it('replaces a section of that name in place, with the comments that follow it left to the next section', () => {
    const text = `[local]\nhost=localhost\n\n[root-aurora]\nhost=old\n# a comment inside\nuser=bob\n\n# staging, do not remove\n[staging]\nhost=s\n`;
    expect(upsertServiceSection(text, 'root-aurora', ENTRIES)).toBe(
      `[local]\nhost=localhost\n\n${SECTION}\n# staging, do not remove\n[staging]\nhost=s\n`,
    );
  });

  it('replaces the last section up to its last setting and keeps a trailing comment', () => {
    const text = `[root-aurora]\nhost=old\n# the end\n`;
    expect(upsertServiceSection(text, 'root-aurora', ENTRIES)).toBe(`${SECTION}# the end\n`);
  });

  it('keeps the first of duplicate sections (the one libpq reads) and drops the others', () => {
    const text = `[root-aurora]\nhost=a\n\n[other]\nhost=o\n\n[root-aurora]\nhost=b\n`;
    expect(upsertServiceSection(text, 'root-aurora', ENTRIES)).toBe(`${SECTION}\n[other]\nhost=o\n`);
  });

  it('matches the section name exactly, allowing blanks around the header as libpq does', () => {
    const text = `[root-aurora-2]\nhost=x\n  [root-aurora]  \nhost=old\n`;
    expect(upsertServiceSection(text, 'root-aurora', ENTRIES)).toBe(`[root-aurora-2]\nhost=x\n${SECTION}`);
  });
});

describe('removeServiceSection', () => {
  it('undoes an append: the file is as it was', () => {
    expect(removeServiceSection(upsertServiceSection(MINE, 'root-aurora', ENTRIES), 'root-aurora')).toBe(MINE);
    expect(removeServiceSection(SECTION, 'root-aurora')).toBe('');
  });

  it('removes a section between others, leaving one blank line and the comments of the next', () => {
    const text = `[local]\nhost=localhost\n\n[root-aurora]\nhost=a\n\n# staging\n[staging]\nhost=s\n`;
    expect(removeServiceSection(text, 'root-aurora')).toBe(`[local]\nhost=localhost\n\n# staging\n[staging]\nhost=s\n`);
  });

  it('removes a first section without leaving a leading blank line', () => {
    expect(removeServiceSection(`[root-aurora]\nhost=a\n\n[local]\nhost=l\n`, 'root-aurora')).toBe('[local]\nhost=l\n');
  });

  it('removes every section of that name and nothing when there is none', () => {
    expect(removeServiceSection(`[x]\nhost=1\n\n[y]\nhost=2\n\n[x]\nhost=3\n`, 'x')).toBe('[y]\nhost=2\n');
    expect(removeServiceSection(MINE, 'root-aurora')).toBe(MINE);
  });
});
