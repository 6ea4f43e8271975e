// A TypeScript pipeline client of the service, typed by the OpenAPI document: submit a batch,
// poll until the job ends, read the report's verdicts. tests/unit/service/test_openapi_tools.py generates
// schema.d.ts beside it (openapi-typescript) and type-checks this file (tsc --noEmit); a change
// of the HTTP API that breaks such a client fails that test.
import createClient from "openapi-fetch";

import type { components, paths } from "./schema";

type JobCreateOptions = components["schemas"]["JobCreateOptions"];
type JobRead = components["schemas"]["JobRead"];

const FINISHED: ReadonlyArray<JobRead["state"]> = ["succeeded", "failed", "cancelled"];

export async function audit(
  baseUrl: string,
  pairs: ReadonlyArray<{ groundTruth: Blob; restored: Blob; name: string }>,
  apiKey?: string,
): Promise<Record<string, string>> {
  const client = createClient<paths>({
    baseUrl,
    headers: apiKey === undefined ? {} : { Authorization: `Bearer ${apiKey}` },
  });
  // The options part is a typed object: a misspelt field or a wrong type fails to compile.
  const options: JobCreateOptions = {
    degradation: "downsample:4:bicubic",
    color: "y",
    bootstrap: { resamples: 200, level: 0.95 },
    pairs: pairs.map((pair) => ({ id: pair.name, group: "bicubic" })),
  };
  const created = await client.POST("/v1/jobs", {
    body: {
      // Binary parts: the generated type is a string; the serializer below sends the blobs.
      ground_truth: pairs.map((pair) => pair.name),
      restored: pairs.map((pair) => pair.name),
      options,
    },
    bodySerializer(body) {
      const form = new FormData();
      pairs.forEach((pair) => {
        form.append("ground_truth", pair.groundTruth, `${pair.name}.png`);
        form.append("restored", pair.restored, `${pair.name}.png`);
      });
      // One JSON part, as the document's multipart encoding says (contentType application/json).
      form.append("options", new Blob([JSON.stringify(body.options)], { type: "application/json" }));
      return form;
    },
  });
  if (created.error !== undefined) {
    const problem: components["schemas"]["Problem"] = created.error;
    throw new Error(`${problem.status} ${problem.title}: ${problem.detail ?? ""}`);
  }
  let job: JobRead = created.data;
  while (!FINISHED.includes(job.state)) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const polled = await client.GET("/v1/jobs/{job_id}", {
      params: { path: { job_id: job.id } },
    });
    if (polled.error !== undefined) {
      throw new Error(`${polled.error.status} ${polled.error.title}`);
    }
    job = polled.data;
  }
  const report = await client.GET("/v1/jobs/{job_id}/report", {
    params: { path: { job_id: job.id } },
  });
  if (report.error !== undefined) {
    throw new Error(`${report.error.status} ${report.error.title}`);
  }
  const verdicts: Record<string, string> = {};
  if ("mode" in report.data) {
    // A job sent without ground truth: a GroundTruthFreeReport, which has no risk level.
    return verdicts;
  }
  for (const group of report.data.groups) {
    verdicts[group.name] = group.risk.level;
  }
  return verdicts;
}
