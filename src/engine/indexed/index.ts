/**
 * The indexed classifier (hash, prefix and interval indexes per sublayer, verified with the shared
 * condition semantics). Same interface and same answers as the linear reference classifier.
 */
export {
  createIndexedClassifier,
  type IndexedClassifierOptions,
  IndexedLayer,
  indexedClassifier,
} from "./indexed-classifier.ts";
