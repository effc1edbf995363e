import { coreServices, createBackendModule } from '@backstage/backend-plugin-api';
import { scaffolderActionsExtensionPoint } from '@backstage/plugin-scaffolder-node';
import { createGovgateCheckAction } from './actions/check';

/**
 * Adds the `govgate:check` action to the scaffolder. Reads `govgate.baseUrl`, `govgate.token`
 * and the other `govgate.*` settings from the backend config.
 */
export const scaffolderModuleGovgate = createBackendModule({
  pluginId: 'scaffolder',
  moduleId: 'govgate',
  register(reg) {
    reg.registerInit({
      deps: {
        scaffolder: scaffolderActionsExtensionPoint,
        config: coreServices.rootConfig,
      },
      async init({ scaffolder, config }) {
        scaffolder.addActions(createGovgateCheckAction({ config }));
      },
    });
  },
});
