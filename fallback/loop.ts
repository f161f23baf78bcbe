// FallbackEventLoop: the asyncio loop over Node's libuv modules (FallbackProactor).
import { BaseEventLoop } from "../src/base-events.js";
import { FallbackProactor } from "./proactor.js";

export class FallbackEventLoop extends BaseEventLoop {
  constructor() {
    super(new FallbackProactor());
  }
}
