// The seeded development directory lives beside the landing page, which lists it in development
// (nothing that ships imports scripts/); the authorization server and the CLIs read it from here.
export * from '../../app/_landing/seeded-directory';
