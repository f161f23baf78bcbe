// `npm run test:package`: the packaging test alone (npm pack builds two prebuilds first, so
// it is too slow for `npm test`, whose config in package.json leaves this folder out).
export default {
  files: ["dist/cjs/test/packaging/**/*.test.js"],
  workerThreads: false,
  timeout: "15m",
};
