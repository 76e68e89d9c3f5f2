import {
  CfnTemplate, checkRules, diffResources, diffTemplates, referencedNames, replacementFor, resolveParameters, TemplateModel,
} from '../../lib/runner/template';

const template: CfnTemplate = {
  Parameters: {
    Units: { Type: 'Number', Default: '1', AllowedValues: ['1', '2'] },
    Names: { Type: 'CommaDelimitedList', Default: 'a, b' },
    BootstrapVersion: { Type: 'AWS::SSM::Parameter::Value<String>', Default: '/cdk-bootstrap/hnb659fds/version' },
  },
  Conditions: { WithAlarm: { 'Fn::Equals': [{ Ref: 'Units' }, '2'] } },
  Resources: {
    Model: { Type: 'Custom::Model', Properties: { ServiceToken: { 'Fn::GetAtt': ['Provider', 'Arn'] }, Project: { Ref: 'Project' } } },
    Project: { Type: 'AWS::Rekognition::Project', Properties: { ProjectName: 'p' } },
    Provider: { Type: 'AWS::Lambda::Function', Properties: { Role: { 'Fn::GetAtt': 'Role.Arn' } }, DependsOn: 'Bucket' },
    Role: { Type: 'AWS::IAM::Role', Properties: {} },
    Bucket: { Type: 'AWS::S3::Bucket' },
    Alarm: {
      Type: 'AWS::CloudWatch::Alarm',
      Condition: 'WithAlarm',
      Properties: { Text: { 'Fn::Sub': '${Model.Version} in ${AWS::Region} ${!Role}' } },
    },
  },
  Rules: {
    CheckBootstrapVersion: {
      Assertions: [{
        Assert: { 'Fn::Not': [{ 'Fn::Contains': [['1', '2', '3', '4', '5'], { Ref: 'BootstrapVersion' }] }] },
        AssertDescription: 'bootstrap 6 required',
      }],
    },
  },
};

describe('TemplateModel', () => {
  const model = new TemplateModel(template);

  test('dependencies: DependsOn plus Ref, GetAtt (both forms) and Sub references', () => {
    expect([...model.dependencies('Model')].sort()).toEqual(['Project', 'Provider']);
    expect([...model.dependencies('Provider')].sort()).toEqual(['Bucket', 'Role']);
    expect([...model.dependencies('Alarm')]).toEqual(['Model']); // ${!Role} is a literal, AWS::Region is not a resource
    expect(model.dependents('Role')).toEqual(['Provider']);
  });

  test('create order puts every resource after its dependencies; delete order every resource before them', () => {
    const order = model.createOrder();
    const deletes = model.deleteOrder();
    expect(order).toHaveLength(6);
    expect([...deletes].sort()).toEqual([...order].sort());
    for (const id of order) {
      for (const dep of model.dependencies(id)) {
        expect(order.indexOf(dep)).toBeLessThan(order.indexOf(id));
        expect(deletes.indexOf(dep)).toBeGreaterThan(deletes.indexOf(id));
      }
    }
  });

  test('IAM policies are created as late and deleted as early as their dependents allow', () => {
    // GIVEN a function whose custom resource forgot to depend on the policy that grants the function its rights
    const strict = new TemplateModel({ Resources: {
      Role: { Type: 'AWS::IAM::Role' },
      Policy: { Type: 'AWS::IAM::Policy', Properties: { Roles: [{ Ref: 'Role' }] } },
      Fn: { Type: 'AWS::Lambda::Function', Properties: { Role: { 'Fn::GetAtt': ['Role', 'Arn'] } } },
      Custom: { Type: 'Custom::Thing', Properties: { ServiceToken: { 'Fn::GetAtt': ['Fn', 'Arn'] } } },
      Used: { Type: 'AWS::IAM::Policy', Properties: { Roles: [{ Ref: 'Role' }] } },
      After: { Type: 'Custom::Other', DependsOn: 'Used', Properties: { ServiceToken: { 'Fn::GetAtt': ['Fn', 'Arn'] } } },
    } });
    // THEN the custom resource runs before the policy it did not wait for; the one that depends on its policy waits
    expect(strict.createOrder()).toEqual(['Role', 'Fn', 'Custom', 'Used', 'After', 'Policy']);
    expect(strict.deleteOrder()).toEqual(['Policy', 'Custom', 'After', 'Used', 'Fn', 'Role']);
  });

  test('a cycle is reported with its members', () => {
    const cyclic = new TemplateModel({ Resources: { A: { Type: 'T', Properties: { x: { Ref: 'B' } } }, B: { Type: 'T', DependsOn: ['A'] } } });
    expect(() => cyclic.createOrder()).toThrow('Circular dependency between resources: A -> B -> A');
  });

  test('DependsOn on a missing resource is refused', () => {
    expect(() => new TemplateModel({ Resources: { A: { Type: 'T', DependsOn: 'Ghost' } } }))
      .toThrow('Resources.A.DependsOn names "Ghost", which is not a resource');
  });

  test('conditions decide which resources exist', () => {
    const one = model.resolver({ stackName: 's', parameters: resolveParameters(template) });
    const two = model.resolver({ stackName: 's', parameters: resolveParameters(template, { overrides: { Units: '2' } }) });
    expect(model.isActive('Alarm', one)).toBe(false);
    expect(model.isActive('Alarm', two)).toBe(true);
    expect(model.isActive('Bucket', one)).toBe(true);
  });
});

describe('referencedNames', () => {
  test('ignores variables defined by the Fn::Sub map but visits their values', () => {
    expect([...referencedNames({ 'Fn::Sub': ['${X}-${Y}', { X: { Ref: 'Z' } }] })].sort()).toEqual(['Y', 'Z']);
  });
});

describe('resolveParameters', () => {
  test('defaults, overrides, lists and the CDK bootstrap SSM parameter', () => {
    expect(resolveParameters(template)).toEqual({ Units: '1', Names: ['a', 'b'], BootstrapVersion: '30' });
    expect(resolveParameters(template, { overrides: { Units: '2' }, ssmParameters: { '/cdk-bootstrap/hnb659fds/version': '21' } }))
      .toEqual({ Units: '2', Names: ['a', 'b'], BootstrapVersion: '21' });
  });

  test('every problem is reported at once', () => {
    const t: CfnTemplate = {
      Parameters: {
        A: { Type: 'String' },
        B: { Type: 'String', Default: 'x', AllowedPattern: '[0-9]+' },
        C: { Type: 'AWS::SSM::Parameter::Value<String>', Default: '/mine' },
      },
    };
    expect(() => resolveParameters(t, { overrides: { D: '1' } })).toThrow(
      'Invalid parameters: parameter A has no value and no default; parameter B must match /[0-9]+/, got: "x"; '
      + 'parameter C reads SSM parameter /mine, which has no offline value; parameter D is given but the template does not declare it');
    expect(() => resolveParameters(template, { overrides: { Units: '3' } })).toThrow('parameter Units must be one of ["1","2"], got: "3"');
  });
});

describe('checkRules', () => {
  test('passes with a recent bootstrap version and fails with an old one, quoting the description', () => {
    const model = new TemplateModel(template);
    expect(() => checkRules(template, model.resolver({ stackName: 's', parameters: resolveParameters(template) }))).not.toThrow();
    const old = resolveParameters(template, { ssmParameters: { '/cdk-bootstrap/hnb659fds/version': '5' } });
    expect(() => checkRules(template, model.resolver({ stackName: 's', parameters: old })))
      .toThrow('Template rules failed: CheckBootstrapVersion: bootstrap 6 required');
  });
});

describe('diff', () => {
  test('added, removed, updated and unchanged resources, with replacement by type', () => {
    // GIVEN a deployed template and a new one
    const before: CfnTemplate = {
      Resources: {
        Project: { Type: 'AWS::Rekognition::Project', Properties: { ProjectName: 'a', Tags: [] } },
        Topic: { Type: 'AWS::SNS::Topic', Properties: { DisplayName: 'x' } },
        Model: { Type: 'Custom::Model', Properties: { ServiceToken: 'arn:fn', Hash: '1' } },
        Old: { Type: 'AWS::S3::Bucket' },
      },
    };
    const after: CfnTemplate = {
      Resources: {
        Project: { Type: 'AWS::Rekognition::Project', Properties: { ProjectName: 'b', Tags: [] } },
        Topic: { Type: 'AWS::SNS::Topic', Properties: { DisplayName: 'x' } },
        Model: { Type: 'Custom::Model', Properties: { ServiceToken: 'arn:fn', Hash: '2' } },
        New: { Type: 'AWS::SSM::Parameter', Properties: { Name: 'n' } },
      },
    };

    // WHEN
    const diff = diffTemplates(before, after);

    // THEN
    expect(diff.added).toEqual(['New']);
    expect(diff.removed).toEqual(['Old']);
    expect([...diff.updated].sort()).toEqual(['Model', 'Project']);
    expect(diff.unchanged).toEqual(['Topic']);
    const byId = Object.fromEntries(diff.changes.map((c) => [c.logicalId, c]));
    expect(byId.Project).toMatchObject({ changedProperties: ['ProjectName'], replacement: 'replace' });
    expect(byId.Model).toMatchObject({ changedProperties: ['Hash'], replacement: 'runtime', oldProperties: { ServiceToken: 'arn:fn', Hash: '1' } });
  });

  test('resolved snapshots compare deeply; a type change replaces', () => {
    const diff = diffResources(
      { A: { type: 'AWS::Lambda::Function', properties: { Env: { Variables: { X: '1' } } } }, B: { type: 'AWS::IAM::Role', properties: {} } },
      {
        A: { type: 'AWS::Lambda::Function', properties: { Env: { Variables: { X: '1' } } } },
        B: { type: 'AWS::IAM::ManagedPolicy', properties: {} },
      },
    );
    expect(diff.unchanged).toEqual(['A']);
    expect(diff.changes.find((c) => c.logicalId === 'B')).toMatchObject({ change: 'update', replacement: 'replace', oldType: 'AWS::IAM::Role' });
  });

  test('replacementFor reads the resource database for every type, and admits a type CloudFormation does not know', () => {
    expect(replacementFor('AWS::S3::Bucket', ['Tags'])).toBe('none');
    expect(replacementFor('AWS::S3::Bucket', ['BucketName'])).toBe('replace');
    // Types no list of ours ever named: the database marks their create-only properties.
    expect(replacementFor('AWS::SQS::Queue', ['VisibilityTimeout'])).toBe('none');
    expect(replacementFor('AWS::SQS::Queue', ['FifoQueue'])).toBe('replace');
    expect(replacementFor('AWS::DynamoDB::Table', ['KeySchema'])).toBe('replace');
    expect(replacementFor('AWS::EC2::Instance', ['ImageId'])).toBe('replace');
    expect(replacementFor('AWS::EC2::Instance', [])).toBe('none');
    expect(replacementFor('AWS::CloudFormation::CustomResource', ['X'])).toBe('runtime');
    expect(replacementFor('My::Own::Thing', ['X'])).toBe('unknown');
  });
});
