import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { CreateProjectCommand, DescribeProjectsCommand, RekognitionClient } from '@aws-sdk/client-rekognition';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

import { startLocalCloud } from '../../lib/emulator/local-cloud';

const credentials = { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local' };

function clients(rekognitionEndpoint: string, s3Endpoint: string): { rek: RekognitionClient; s3: S3Client } {
  return {
    rek: new RekognitionClient({ endpoint: rekognitionEndpoint, region: 'us-east-1', credentials, maxAttempts: 1 }),
    s3: new S3Client({ endpoint: s3Endpoint, region: 'us-east-1', credentials }),
  };
}

describe('startLocalCloud', () => {
  test('the real SDK clients talk to both servers, which share one S3', async () => {
    // GIVEN a local cloud with one bucket
    const cloud = await startLocalCloud({ timeScale: 0, buckets: ['training'] });
    const { rek, s3 } = clients(cloud.rekognitionEndpoint, cloud.s3Endpoint);
    try {
      expect(cloud.rekognitionEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(cloud.s3Endpoint).toBe(cloud.s3.endpoint);
      // WHEN a project is created and an object stored
      const { ProjectArn } = await rek.send(new CreateProjectCommand({ ProjectName: 'shapes' }));
      await s3.send(new PutObjectCommand({ Bucket: 'training', Key: 'a.txt', Body: 'hi' }));
      // THEN both read back
      const described = await rek.send(new DescribeProjectsCommand({}));
      expect(described.ProjectDescriptions?.map((p) => p.ProjectArn)).toEqual([ProjectArn]);
      expect(ProjectArn).toMatch(/^arn:aws:rekognition:us-east-1:\d{12}:project\/shapes\/\d+$/);
      const got = await s3.send(new GetObjectCommand({ Bucket: 'training', Key: 'a.txt' }));
      expect(await got.Body!.transformToString()).toBe('hi');
      expect(cloud.usage().totals.dollars).toBe(0);
      expect(cloud.emulator.clock).toBe(cloud.clock);
    } finally {
      rek.destroy();
      s3.destroy();
      await cloud.stop();
    }
    // AND stop() closes both servers and may be called again
    await cloud.stop();
    const after = clients(cloud.rekognitionEndpoint, cloud.s3Endpoint);
    await expect(after.rek.send(new DescribeProjectsCommand({}))).rejects.toThrow(/ECONNREFUSED/);
    after.rek.destroy();
    after.s3.destroy();
  });

  test('with stateDir, projects and objects survive a restart', async () => {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-cloud-test-'));
    try {
      // GIVEN a cloud that created a project and stored an object, then stopped
      const first = await startLocalCloud({ stateDir, buckets: ['keep'] });
      const c1 = clients(first.rekognitionEndpoint, first.s3Endpoint);
      const { ProjectArn } = await c1.rek.send(new CreateProjectCommand({ ProjectName: 'durable' }));
      await c1.s3.send(new PutObjectCommand({ Bucket: 'keep', Key: 'm.json', Body: '{}' }));
      c1.rek.destroy();
      c1.s3.destroy();
      await first.stop();
      expect(fs.existsSync(path.join(stateDir, 's3', 'keep'))).toBe(true);
      expect(fs.readdirSync(path.join(stateDir, 'rekognition')).length).toBeGreaterThan(0);
      // WHEN a new cloud starts on the same folder
      const second = await startLocalCloud({ stateDir });
      const c2 = clients(second.rekognitionEndpoint, second.s3Endpoint);
      try {
        // THEN both are still there
        const described = await c2.rek.send(new DescribeProjectsCommand({ ProjectNames: ['durable'] }));
        expect(described.ProjectDescriptions?.map((p) => p.ProjectArn)).toEqual([ProjectArn]);
        const got = await c2.s3.send(new GetObjectCommand({ Bucket: 'keep', Key: 'm.json' }));
        expect(await got.Body!.transformToString()).toBe('{}');
      } finally {
        c2.rek.destroy();
        c2.s3.destroy();
        await second.stop();
      }
    } finally {
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });

  test('scripted faults reach the Rekognition endpoint', async () => {
    const cloud = await startLocalCloud({ faults: [{ operation: 'DescribeProjects', error: 'ThrottlingException', message: 'slow down' }] });
    const { rek, s3 } = clients(cloud.rekognitionEndpoint, cloud.s3Endpoint);
    try {
      await expect(rek.send(new DescribeProjectsCommand({}))).rejects.toMatchObject({ name: 'ThrottlingException', message: 'slow down' });
      await expect(rek.send(new DescribeProjectsCommand({}))).resolves.toMatchObject({ ProjectDescriptions: [] });
    } finally {
      rek.destroy();
      s3.destroy();
      await cloud.stop();
    }
  });

  test('a taken Rekognition port fails the start', async () => {
    const holder = await startLocalCloud();
    const port = Number(new URL(holder.rekognitionEndpoint).port);
    try {
      await expect(startLocalCloud({ rekognitionPort: port })).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await holder.stop();
    }
  });
});
