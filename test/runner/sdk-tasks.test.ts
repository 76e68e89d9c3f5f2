import { MemoryParameterStore, ssmOperation } from '../../lib/runner/sdk-tasks';

const now = (): number => Date.UTC(2024, 0, 2);

describe('ssmOperation on a MemoryParameterStore', () => {
  test('GIVEN no parameter THEN GetParameter fails with ParameterNotFound and GetParameters lists it as invalid', () => {
    const store = new MemoryParameterStore({ '/a': 'one' });
    expect(() => ssmOperation(store, 'GetParameter', { Name: '/b' }, now)).toThrow(expect.objectContaining({ name: 'ParameterNotFound',
      message: 'Parameter /b not found.' }));
    expect(ssmOperation(store, 'GetParameters', { Names: ['/a', '/b'] }, now)).toMatchObject({
      Parameters: [{ Name: '/a', Value: 'one', Version: 1, Type: 'String' }], InvalidParameters: ['/b'],
    });
  });

  test('GIVEN a parameter THEN PutParameter needs Overwrite, and each write adds a version', () => {
    const store = new MemoryParameterStore({ '/serving': 'none' });
    expect(() => ssmOperation(store, 'PutParameter', { Name: '/serving', Value: 'x' }, now))
      .toThrow(expect.objectContaining({ name: 'ParameterAlreadyExists' }));
    expect(ssmOperation(store, 'PutParameter', { Name: '/serving', Value: 'arn:v1', Overwrite: true }, now)).toEqual({ Version: 2, Tier: 'Standard' });
    expect(ssmOperation(store, 'GetParameter', { Name: '/serving' }, now)).toEqual({ Parameter: {
      Name: '/serving', Type: 'String', Value: 'arn:v1', Version: 2, DataType: 'text', LastModifiedDate: now() / 1000,
      ARN: 'arn:aws:ssm:us-east-1:123456789012:parameter/serving',
    } });
    expect(ssmOperation(store, 'PutParameter', { Name: '/new', Value: 's', Type: 'SecureString' }, now)).toEqual({ Version: 1, Tier: 'Standard' });
    expect(store.get('/new')).toEqual({ value: 's', version: 1, type: 'SecureString' });
  });

  test('GIVEN an operation it does not serve THEN it says so', () => {
    expect(() => ssmOperation(new MemoryParameterStore(), 'DeleteParameter', { Name: '/a' }, now))
      .toThrow(expect.objectContaining({ name: 'UnknownOperationException', message: 'SSM DeleteParameter is not served offline' }));
  });
});
