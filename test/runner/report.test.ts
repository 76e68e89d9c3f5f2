import { formatDuration, pipelineOverheadSeconds, taskCalls, workflowPhases } from '../../lib/runner/report';
import { RunEvent } from '../../lib/runner/state-machine';

const entered = (state: string, at: number): RunEvent => ({ type: 'StateEntered', state, at });
const call = (state: string, at: number): RunEvent => ({ type: 'TaskCall', state, at, route: 'sdk' });

describe('workflow figures', () => {
  // A run that imports for 30 s, trains for 32 min (32 polls), gates, starts for 5 min and promotes.
  const events: RunEvent[] = [
    entered('CheckProject', 0), entered('PrepareData', 0), entered('AnyDatasets', 2), entered('CreateTrainDataset', 2),
    entered('WaitForDatasets', 2), entered('GetServingVersion', 32), entered('CreateVersion', 32),
    ...Array.from({ length: 32 }, (_, i) => call('DescribeTraining', 92 + 60 * i)),
    entered('Evaluate', 1952), entered('Deploy', 1953), entered('StartVersion', 1953), entered('Promote', 2253), entered('Succeeded', 2254),
  ];

  test('phases split the virtual time at the workflow\'s landmarks', () => {
    expect(workflowPhases(events)).toEqual({ prepare: 2, import: 30, train: 1920, gate: 1, start: 300, promote: 1, total: 2254 });
  });

  test('a run that adopts an existing version has no import or training', () => {
    const adopted = [entered('CheckProject', 0), entered('AdoptVersion', 0), entered('GetServingVersion', 0), entered('Evaluate', 0),
      entered('Deploy', 0), entered('Promote', 0), entered('Succeeded', 0)];
    expect(workflowPhases(adopted)).toMatchObject({ import: 0, train: 0, start: 0, total: 0 });
  });

  test('overhead is the workflow time minus the service time; polls are counted', () => {
    expect(pipelineOverheadSeconds(workflowPhases(events), { importSeconds: 21, trainingSeconds: 1896, startSeconds: 300 })).toBe(37);
    expect(taskCalls(events, 'DescribeTraining')).toBe(32);
    expect(formatDuration(3725)).toBe('1h 02m 05s');
    expect(formatDuration(65)).toBe('1m 05s');
    expect(formatDuration(9)).toBe('9s');
  });
});
