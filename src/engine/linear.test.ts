import { runClassifierConformance } from "./classifier-conformance.testing.ts";
import { linearClassifier } from "./linear.ts";

runClassifierConformance(linearClassifier);
