import { startStack } from './tests/helpers/stack';
const stack = await startStack();
console.log(JSON.stringify({ app: stack.app.url, resource: stack.resource, issuer: stack.auth.issuer }));
process.on('SIGTERM', async () => { await stack.close(); process.exit(0); });
setInterval(() => {}, 1 << 30);
