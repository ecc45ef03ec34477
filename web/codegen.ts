// Typed operations from the API's schema. Every `graphql(...)` document in src/ is
// validated against ../schema.graphql: an operation that does not match it fails
// codegen, and with it the build.
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "../schema.graphql",
  documents: ["src/**/*.{ts,tsx}", "!src/gql/**/*"],
  ignoreNoDocuments: false,
  errorsOnly: false,
  generates: {
    "src/gql/": {
      preset: "client",
      presetConfig: { fragmentMasking: false },
      config: {
        enumsAsTypes: true,
        useTypeImports: true,
        scalars: { DateTime: "string", Decimal: "string", JSON: "unknown", Upload: "File" },
      },
    },
  },
};

export default config;
