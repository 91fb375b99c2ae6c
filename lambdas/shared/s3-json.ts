import { GetObjectCommand, NoSuchKey, S3Client } from '@aws-sdk/client-s3';

/** Reads and parses a JSON document from S3; the error names the object and says whether it is missing or malformed. */
export async function readJsonObject<T>(s3: S3Client, bucket: string, key: string): Promise<T> {
  const uri = `s3://${bucket}/${key}`;
  let text: string;
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    text = (await response.Body?.transformToString('utf-8')) ?? '';
  } catch (e) {
    if (e instanceof NoSuchKey || (e as { name?: string }).name === 'NoSuchKey') throw new Error(`${uri} does not exist`);
    throw e;
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new Error(`${uri} is not valid JSON: ${(e as Error).message}`);
  }
}
