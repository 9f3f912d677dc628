/**
 * Layer names, shared by the builder and the analytic summary so that both
 * describe the same layers. Vocabulary of the deck: stem, dense block, layer ℓ,
 * composite function (BN-ReLU-Conv3×3), bottleneck (Conv1×1), transition, head.
 *
 *   stem_conv, stem_bn, stem_relu, stem_pool       the layers before block 1
 *   block2_layer5_concat                           [x0 … x4] read by layer 5 of block 2
 *   block2_layer5_bn, _relu, _conv3x3, _dropout    composite layer H_ℓ
 *   block2_layer5_bn1, _relu1, _conv1x1, _dropout1, _bn2, _relu2, _conv3x3, _dropout2   with bottleneck
 *   block2_concat                                  the block's output: all its maps
 *   transition1_bn, _relu, _conv, _dropout, _pool
 *   head_bn, head_relu, head_pool, classifier
 */
export type Namer = (part: string) => string;

export const INPUT_NAME = 'input';
export const CLASSIFIER_NAME = 'classifier';

export const stemName: Namer = (part) => `stem_${part}`;
export const headName: Namer = (part) => `head_${part}`;

export function denseLayerName(block: number, layer: number): Namer {
  return (part) => `block${block}_layer${layer}_${part}`;
}

export function blockOutputName(block: number): string {
  return `block${block}_concat`;
}

export function transitionName(index: number): Namer {
  return (part) => `transition${index}_${part}`;
}
