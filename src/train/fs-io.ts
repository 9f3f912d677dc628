/**
 * Saving and loading models on the file system on every backend: a tf.io
 * handler that writes model.json (topology + weights manifest, the layers-model
 * format of tfjs) and weights.bin. tfjs-node's `file://` handler only exists
 * when tfjs-node loads, which it does not here.
 */
import * as fs from 'fs';
import * as path from 'path';
import { tf } from '../tf';

export const MODEL_FILE = 'model.json';
export const WEIGHTS_FILE = 'weights.bin';

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

/** Writes `data` next to `file` and renames it over: a crash never leaves a half-written file. */
function writeAtomically(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

function joinWeightData(data: tf.io.WeightData | undefined): ArrayBuffer {
  if (data === undefined) return new ArrayBuffer(0);
  return Array.isArray(data) ? tf.io.CompositeArrayBuffer.join(data) : data;
}

/** Bytes that `specs` describe (undefined when a spec is quantized or of an unknown type: no check then). */
function expectedWeightBytes(specs: tf.io.WeightsManifestEntry[]): number | undefined {
  let total = 0;
  for (const spec of specs) {
    const bytes = DTYPE_BYTES[spec.quantization?.dtype ?? spec.dtype];
    if (bytes === undefined || spec.dtype === 'string') return undefined;
    total += bytes * spec.shape.reduce((a, b) => a * b, 1);
  }
  return total;
}

/** A tf.io handler for the folder `dir`: `model.save(fileSystemIO(dir))`, `tf.loadLayersModel(fileSystemIO(dir))`. */
export function fileSystemIO(dir: string): Required<Pick<tf.io.IOHandler, 'save' | 'load'>> {
  const modelFile = path.join(dir, MODEL_FILE);
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new Error('fileSystemIO saves layers models (JSON topology), not binary graph models');
      }
      fs.mkdirSync(dir, { recursive: true });
      const weights = new Uint8Array(joinWeightData(artifacts.weightData));
      const modelJSON: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology as object,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs ?? [] }],
        ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
        ...(artifacts.userDefinedMetadata ? { userDefinedMetadata: artifacts.userDefinedMetadata } : {}),
      };
      // Weights first: model.json names them, so it must never point at missing bytes.
      writeAtomically(path.join(dir, WEIGHTS_FILE), weights);
      writeAtomically(modelFile, JSON.stringify(modelJSON));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },

    async load(): Promise<tf.io.ModelArtifacts> {
      let modelJSON: tf.io.ModelJSON;
      try {
        modelJSON = JSON.parse(fs.readFileSync(modelFile, 'utf8')) as tf.io.ModelJSON;
      } catch (err) {
        throw new Error(`cannot read a saved model from ${modelFile}: ${(err as Error).message}`);
      }
      if (!modelJSON.modelTopology || !Array.isArray(modelJSON.weightsManifest)) {
        throw new Error(`${modelFile} is not a tfjs layers model (it needs modelTopology and weightsManifest)`);
      }
      return tf.io.getModelArtifactsForJSON(modelJSON, async (manifest) => {
        const specs: tf.io.WeightsManifestEntry[] = [];
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest) {
          specs.push(...group.weights);
          for (const name of group.paths) {
            const file = path.join(dir, name);
            const bytes = fs.readFileSync(file);
            buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
          }
        }
        const data = tf.io.CompositeArrayBuffer.join(buffers);
        const expected = expectedWeightBytes(specs);
        if (expected !== undefined && data.byteLength !== expected) {
          throw new Error(
            `the weights of ${modelFile} (${manifest.flatMap((g) => g.paths).join(', ')}) are ${data.byteLength} bytes; the manifest expects ${expected}`,
          );
        }
        return [specs, data];
      });
    },
  };
}

/** Saves topology and weights into `dir` (model.json + weights.bin). */
export async function saveModel(model: tf.LayersModel, dir: string): Promise<void> {
  await model.save(fileSystemIO(dir));
}

/** Loads a model saved by saveModel (its layers must be registered classes). */
export function loadModel(dir: string): Promise<tf.LayersModel> {
  return tf.loadLayersModel(fileSystemIO(dir));
}

/** Loads saved weights into an already built model of the same architecture. */
export async function loadWeightsInto(model: tf.LayersModel, dir: string): Promise<void> {
  const artifacts = await fileSystemIO(dir).load();
  const weights = tf.io.decodeWeights(joinWeightData(artifacts.weightData), artifacts.weightSpecs ?? []);
  try {
    model.loadWeights(weights, true);
  } finally {
    tf.dispose(Object.values(weights));
  }
}
