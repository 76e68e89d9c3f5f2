import { runToolkitDemo } from '../../bin/demo/toolkit';

describe('the toolkit demo (node dist/bin/demo.js toolkit)', () => {
  test('every step does what it should, and the broken manifest is reported line by line', async () => {
    // GIVEN a log that keeps the narration
    const lines: string[] = [];
    // WHEN the demo runs
    const code = await runToolkitDemo((line) => lines.push(line));
    // THEN it passes, and the validator found each planted mistake at its line
    const text = lines.join('\n');
    expect(code).toBe(0);
    expect(text).toContain('Toolkit demo passed: 7 steps');
    expect(text).toMatch(/ERROR_INVALID_JSON_LINE[^\n]*\n\s+line 3/);
    expect(text).toMatch(/ERROR_DUPLICATE_SOURCE_REF[^\n]*\n\s+line 5/);
    expect(text).toMatch(/ERROR_INVALID_SOURCE_REF_FORMAT[^\n]*\n\s+line 6/);
    expect(text).toMatch(/ERROR_INVALID_LABEL_ATTRIBUTE_METADATA_FORMAT[^\n]*\n\s+line 8/);
  });
});
