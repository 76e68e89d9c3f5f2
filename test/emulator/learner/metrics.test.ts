import { averagePrecision, chooseThreshold, f1Score, iou } from '../../../lib/emulator/learner';

describe('f1Score', () => {
  test.each([
    [0.9, 1.0, 0.947],
    [0.3, 1.0, 0.46],
    [0.95, 0.2, 0.33],
  ])('P=%p R=%p gives the documented %p', (p, r, expected) => {
    expect(f1Score(p, r)).toBeCloseTo(expected, 2);
  });

  test('is 0 when precision and recall are both 0', () => {
    expect(f1Score(0, 0)).toBe(0);
  });
});

describe('chooseThreshold', () => {
  test('picks the decisions with the best F1 and puts the threshold midway to the next lower score', () => {
    // GIVEN 3 positives; scores 0.9(hit) 0.8(miss) 0.7(hit) 0.6(hit) 0.2(miss)
    const items = [
      { score: 0.2, hit: false }, { score: 0.9, hit: true }, { score: 0.7, hit: true }, { score: 0.8, hit: false }, { score: 0.6, hit: true },
    ];
    // by hand: t=0.9 P1 R1/3 F0.5; t=0.8 P.5 R1/3 F.4; t=0.7 P2/3 R2/3 F.667; t=0.6 P.75 R1 F.857; t=0.2 P.6 R1 F.75
    const c = chooseThreshold(items, 3);
    // Taking 0.6 and leaving 0.2 out: any threshold in (0.2, 0.6] decides the test set alike; the midpoint is 0.4.
    expect(c.threshold).toBeCloseTo(0.4, 10);
    expect(c.precision).toBeCloseTo(0.75, 10);
    expect(c.recall).toBe(1);
    expect(c.f1).toBeCloseTo(6 / 7, 10);
    expect([c.truePositives, c.falsePositives, c.falseNegatives]).toEqual([3, 1, 0]);
  });

  test('ties go to the higher threshold', () => {
    // t=0.9: P1 R.5 F.667; t=0.5: TP2 FP2 P.5 R1 F.667
    const items = [{ score: 0.9, hit: true }, { score: 0.5, hit: false }, { score: 0.5, hit: true }, { score: 0.5, hit: false }];
    expect(chooseThreshold(items, 2).threshold).toBeCloseTo(0.7, 10);
  });

  test('taking every score, the threshold is half the lowest one', () => {
    expect(chooseThreshold([{ score: 0.96, hit: true }, { score: 0.994, hit: true }], 2).threshold).toBeCloseTo(0.48, 10);
  });

  test('equal scores are taken together', () => {
    // both 0.8 items fall on the same side of any threshold: t=0.8 gives TP1 FP1
    const c = chooseThreshold([{ score: 0.8, hit: false }, { score: 0.8, hit: true }], 1);
    expect([c.truePositives, c.falsePositives]).toEqual([1, 1]);
  });

  test('no scores at all: threshold 1 and zero metrics, every positive missed', () => {
    const c = chooseThreshold([], 4);
    expect(c).toEqual({ threshold: 1, truePositives: 0, falsePositives: 0, falseNegatives: 4, precision: 0, recall: 0, f1: 0 });
  });
});

describe('iou', () => {
  test('half-overlapping equal boxes', () => {
    // intersection 5x10=50, union 150
    expect(iou({ left: 0, top: 0, width: 10, height: 10 }, { left: 5, top: 0, width: 10, height: 10 })).toBeCloseTo(1 / 3, 10);
  });

  test('disjoint boxes have IoU 0 and identical ones 1', () => {
    const a = { left: 0, top: 0, width: 4, height: 4 };
    expect(iou(a, { left: 10, top: 10, width: 4, height: 4 })).toBe(0);
    expect(iou(a, { ...a })).toBe(1);
  });
});

describe('averagePrecision', () => {
  test('all-point interpolation, worked by hand', () => {
    // ranked: hit, miss, hit; 2 positives. P: 1, .5, .667 -> interpolated 1, .667, .667; R: .5, .5, 1
    // AP = .5*1 + 0*.667 + .5*.667 = .8333
    expect(averagePrecision([true, false, true], 2)).toBeCloseTo(0.5 + 0.5 * (2 / 3), 10);
  });

  test('a missed positive caps the area at the recall reached', () => {
    expect(averagePrecision([true], 2)).toBeCloseTo(0.5, 10);
    expect(averagePrecision([], 0)).toBe(0);
  });
});
