// Express 4 is installed under the alias `express4` to test both majors; its API for
// `app.use(middleware)` is the one Express 5's types describe.
declare module 'express4' {
  import express from 'express';
  export default express;
}
