export * from './address-guard';
export * from './webhook-dispatcher.service';
export * from './webhook-http';
export * from './webhook-signer';
export * from './webhook.dto';
export * from './webhooks.module';
export * from './webhooks.service';
