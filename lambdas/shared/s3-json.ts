import { GetObjectCommand, NoSuchKey, S3Client } from '@aws-sdk/client-s3';

/** The object's text, or undefined when S3 says it does not exist. Other errors name the object. */
export async function readObjectText(s3: S3Client, bucket: string, key: string): Promise<string | undefined> {
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await response.Body?.transformToString('utf-8');
  } catch (e) {
    // Without s3:ListBucket S3 answers a missing key with 403 instead, which surfaces as an error here.
    if (e instanceof NoSuchKey || (e as Error).name === 'NoSuchKey') return undefined;
    throw new Error(`Reading s3://${bucket}/${key} failed: ${(e as Error).name}: ${(e as Error).message}`, { cause: e });
  }
}

/** Reads and parses a JSON document from S3; the error names the object and says whether it is missing or malformed. */
export async function readJsonObject<T>(s3: S3Client, bucket: string, key: string): Promise<T> {
  const uri = `s3://${bucket}/${key}`;
  const text = await readObjectText(s3, bucket, key);
  if (text === undefined) throw new Error(`${uri} does not exist`);
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new Error(`${uri} is not valid JSON: ${(e as Error).message}`);
  }
}
