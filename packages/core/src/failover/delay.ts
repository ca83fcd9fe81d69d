// Moved to ../async; kept as re-exports so path-runner and the front door keep their imports until they move.
export { deadline } from '../async/deadline';
export { sleep as delay } from '../async/sleep';
